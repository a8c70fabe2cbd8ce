package ui

import (
	"image/color"
	"math"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
)

// luminance is WCAG 2's relative luminance of c (alpha ignored).
func luminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	lin := func(v uint32) float64 {
		s := float64(v) / 0xffff
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// contrast is WCAG 2's contrast ratio of two colours (1 to 21).
func contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// In the light theme (and the dark one) the RAM gauge's figures are written in the theme's text
// colour on the window background, at WCAG AA's 4.5:1 or better; nothing is written on the bar.
func TestRAMGaugeContrast(t *testing.T) {
	s := newTestStudio(t)
	for _, choice := range []string{ThemeLight, ThemeDark} {
		s.SetTheme(choice)
		th := fyne.CurrentApp().Settings().Theme()
		v := fyne.CurrentApp().Settings().ThemeVariant()
		bg := th.Color(theme.ColorNameBackground, v)
		if txt := s.sim.ram.TextFormatter(); txt != "" {
			t.Errorf("%s: text %q on the bar", choice, txt)
		}
		s.sim.ramLabel.Refresh()
		var texts []*canvas.Text
		walkObjects(s.sim.ramLabel, func(o fyne.CanvasObject) bool {
			if ct, ok := o.(*canvas.Text); ok && ct.Text != "" {
				texts = append(texts, ct)
			}
			return false
		})
		if len(texts) == 0 {
			t.Fatalf("%s: the RAM figures are not drawn", choice)
		}
		for _, ct := range texts {
			if c := contrast(ct.Color, bg); c < 4.5 {
				t.Errorf("%s: RAM text %q has contrast %.2f:1 on the background (WCAG asks 4.5:1)", choice, ct.Text, c)
			}
		}
		// What the bar's own text had: ForegroundOnPrimary on the bar's half-transparent primary
		// fill over the background (a low gauge).
		pr, pg, pb, _ := th.Color(theme.ColorNamePrimary, v).RGBA()
		br, bgg, bb, _ := bg.RGBA()
		fill := color.NRGBA64{R: uint16((pr + br) / 2), G: uint16((pg + bgg) / 2), B: uint16((pb + bb) / 2), A: 0xffff}
		t.Logf("%s: the label has %.1f:1; text on the bar had %.1f:1", choice, contrast(texts[0].Color, bg),
			contrast(th.Color(theme.ColorNameForegroundOnPrimary, v), fill))
	}
}
