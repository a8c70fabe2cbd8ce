package main

import (
	"flag"
	"strconv"
	"strings"
	"time"

	"github.com/suit-studio/suit-studio/app"
)

// umFlags are `suit sim run`'s flags for the device's surroundings (update-management
// conditions) and for trust anchors scoped to dependencies (trust domains).
type umFlags struct {
	trustDep, versions                           multiFlag
	battery, clock, authorize, extPower, network *string
}

func addUMFlags(fs *flag.FlagSet) *umFlags {
	u := &umFlags{
		battery:   fs.String("battery", "", "update management: energy left in the battery in mWh (minimum-battery compares with it)"),
		clock:     fs.String("clock", "", "update management: the device clock, RFC 3339 (2026-06-01T03:00:00Z) or now (use-before, wait)"),
		authorize: fs.String("authorize", "", "update management: the application's answer to update-authorized: yes or no"),
		extPower:  fs.String("external-power", "", "update management: wait event power: yes or no"),
		network:   fs.String("network", "", "update management: wait event network: yes or no"),
	}
	fs.Var(&u.versions, "installed-version", "[HEX=]VERSION: installed version (1.2.3) of component [h'HEX'], or of all components (repeatable)")
	fs.Var(&u.trustDep, "trust-dependency", "NAME=PUB: a PEM public key the device trusts only for the dependency manifest NAME (suit-dependency-prefix); repeatable")
	return u
}

func yesNo(flagName, s string) (*bool, error) {
	switch strings.ToLower(s) {
	case "":
		return nil, nil
	case "yes", "true", "1":
		v := true
		return &v, nil
	case "no", "false", "0":
		v := false
		return &v, nil
	}
	return nil, usageErr("write --"+flagName+" yes or --"+flagName+" no", "--%s %q is not yes or no", flagName, s)
}

// policy reads the flags into an app.SimPolicy.
func (u *umFlags) policy() (app.SimPolicy, error) {
	var p app.SimPolicy
	if *u.battery != "" {
		v, err := strconv.ParseUint(strings.TrimSuffix(strings.ToLower(*u.battery), "mwh"), 10, 64)
		if err != nil {
			return p, usageErr("give the energy in mWh, e.g. --battery 1500", "--battery %q is not a number of mWh", *u.battery)
		}
		p.BatteryMWh = &v
	}
	if *u.clock != "" {
		t := time.Now().UTC()
		if *u.clock != "now" {
			var err error
			if t, err = time.Parse(time.RFC3339, *u.clock); err != nil {
				return p, usageErr("write --clock 2026-06-01T03:00:00Z (RFC 3339) or --clock now", "--clock %q is not an RFC 3339 time", *u.clock)
			}
		}
		p.Clock = &t
	}
	var err error
	if p.Authorized, err = yesNo("authorize", *u.authorize); err != nil {
		return p, err
	}
	if p.ExternalPower, err = yesNo("external-power", *u.extPower); err != nil {
		return p, err
	}
	if p.Network, err = yesNo("network", *u.network); err != nil {
		return p, err
	}
	for _, s := range u.versions {
		comp, v, err := app.ParseVersionFlag(s)
		if err != nil {
			return p, inputErr(err, "write --installed-version 1.2.3 or --installed-version 00=1.2.3", "bad --installed-version")
		}
		if p.Versions == nil {
			p.Versions = map[string]string{}
		}
		p.Versions[comp] = v
	}
	return p, nil
}

// apply sets the policy on the device (fresh or kept: the surroundings are not provisioning).
func (u *umFlags) apply(s *app.SimSession) error {
	p, err := u.policy()
	if err != nil {
		return err
	}
	if err := s.ApplyPolicy(p); err != nil {
		return inputErr(err, "see 'suit help sim'", "cannot set the device policy")
	}
	return nil
}

// trustDependencies adds the --trust-dependency anchors to the provisioning.
func (u *umFlags) trustDependencies(env *cmdEnv, prov *app.SimProvisioning) error {
	for len(prov.TrustScopes) < len(prov.TrustPEM) {
		prov.TrustScopes = append(prov.TrustScopes, nil)
	}
	for _, s := range u.trustDep {
		name, file, ok := strings.Cut(s, "=")
		if !ok || name == "" || file == "" {
			return usageErr("write --trust-dependency dependent.suit=dep.pub.pem", "--trust-dependency %q is not NAME=PUB", s)
		}
		b, err := readInput(env, file, app.AnyInput)
		if err != nil {
			return err
		}
		prov.TrustPEM = append(prov.TrustPEM, b)
		prov.TrustNames = append(prov.TrustNames, file+" (dependency "+name+")")
		prov.TrustScopes = append(prov.TrustScopes, []string{name})
	}
	return nil
}
