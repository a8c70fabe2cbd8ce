package ui

import (
	"image/color"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Theme choices of View > Theme, kept in the preferences under prefTheme. SUIT_STUDIO_THEME
// (system, light or dark) overrides the preference for one run (the screenshot test).
const (
	ThemeSystem = "system"
	ThemeLight  = "light"
	ThemeDark   = "dark"
	prefTheme   = "theme"
)

// variantTheme is fyne's default theme with its light or dark variant forced, whatever the
// desktop prefers.
type variantTheme struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.variant)
}

// themeFor returns the theme of a choice: fyne's default theme, with the variant forced for light
// and dark (system follows the desktop's variant).
func themeFor(choice string) fyne.Theme {
	switch choice {
	case ThemeLight:
		return variantTheme{Theme: theme.DefaultTheme(), variant: theme.VariantLight}
	case ThemeDark:
		return variantTheme{Theme: theme.DefaultTheme(), variant: theme.VariantDark}
	}
	return theme.DefaultTheme()
}

// ThemeChoice is the theme in use: SUIT_STUDIO_THEME when set, else the preference.
func (s *Studio) ThemeChoice() string {
	if env := strings.ToLower(strings.TrimSpace(os.Getenv("SUIT_STUDIO_THEME"))); env == ThemeLight || env == ThemeDark || env == ThemeSystem {
		return env
	}
	switch c := s.App.Preferences().String(prefTheme); c {
	case ThemeLight, ThemeDark:
		return c
	}
	return ThemeSystem
}

// SetTheme switches to a theme choice (system, light or dark) and keeps it in the preferences.
func (s *Studio) SetTheme(choice string) {
	if choice != ThemeLight && choice != ThemeDark {
		choice = ThemeSystem
	}
	s.App.Preferences().SetString(prefTheme, choice)
	s.applyTheme(choice, false)
}

// applyTheme sets the theme of a choice. At start (initial), the system choice keeps the app's
// theme as it is (fyne's default, or the test driver's).
func (s *Studio) applyTheme(choice string, initial bool) {
	if !initial || choice != ThemeSystem {
		s.App.Settings().SetTheme(themeFor(choice))
	}
	s.markTheme(choice)
}

// themeMenu is View > Theme: System / Light / Dark, the current one ticked.
func (s *Studio) themeMenu() *fyne.MenuItem {
	item := fyne.NewMenuItem("Theme", nil)
	for _, c := range []struct{ label, choice string }{
		{"System", ThemeSystem}, {"Light", ThemeLight}, {"Dark", ThemeDark},
	} {
		choice := c.choice
		sub := fyne.NewMenuItem(c.label, func() { s.SetTheme(choice) })
		s.themeItems = append(s.themeItems, themeItem{choice: choice, item: sub})
	}
	var subs []*fyne.MenuItem
	for _, ti := range s.themeItems {
		subs = append(subs, ti.item)
	}
	item.ChildMenu = fyne.NewMenu("", subs...)
	return item
}

type themeItem struct {
	choice string
	item   *fyne.MenuItem
}

func (s *Studio) markTheme(choice string) {
	for _, ti := range s.themeItems {
		ti.item.Checked = ti.choice == choice
	}
	if mm := s.Win.MainMenu(); mm != nil {
		mm.Refresh()
	}
}
