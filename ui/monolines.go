package ui

import (
	"image/color"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// monoLines is a pane of monospaced lines (a hex dump, a diagnostic notation) of any length:
// only the rows on screen are widgets (a widget.List), so a 1 MiB envelope costs no more to show
// or scroll than a small one. Column ranges of a row can be highlighted, and a tap reports the row
// and column under the pointer. Lines are never wrapped; the pane scrolls sideways instead and
// never asks for more width than it is given.
type monoLines struct {
	list    *widget.List
	Content fyne.CanvasObject

	length  func() int
	text    func(row int) string
	marks   func(row int) [][2]int // highlighted [from, to) columns of a row
	longest func() int             // the longest line, in columns
	onTap   func(row, col int)
}

func newMonoLines(length func() int, text func(int) string, marks func(int) [][2]int, longest func() int, onTap func(row, col int)) *monoLines {
	m := &monoLines{length: length, text: text, marks: marks, longest: longest, onTap: onTap}
	m.list = widget.NewList(
		func() int { return m.length() },
		func() fyne.CanvasObject { return newMonoRow(m) },
		func(id widget.ListItemID, o fyne.CanvasObject) { o.(*monoRow).setRow(id) },
	)
	m.list.HideSeparators = true
	m.Content = container.NewHScroll(m.list)
	return m
}

// Refresh shows new lines or new highlights (only the visible rows are redrawn).
func (m *monoLines) Refresh() { m.list.Refresh() }

// ScrollTo brings row into view.
func (m *monoLines) ScrollTo(row int) {
	if row >= 0 && row < m.length() {
		m.list.ScrollTo(row)
	}
}

var monoCellCache struct {
	sync.Mutex
	textSize float32
	cell     fyne.Size
}

// monoCell is the size of one monospaced character at the theme's text size (measured once
// per size: every visible row asks for it at each layout).
func monoCell() fyne.Size {
	ts := theme.TextSize()
	monoCellCache.Lock()
	defer monoCellCache.Unlock()
	if monoCellCache.textSize != ts {
		monoCellCache.textSize = ts
		monoCellCache.cell = fyne.MeasureText("M", ts, fyne.TextStyle{Monospace: true})
	}
	return monoCellCache.cell
}

// monoRow is one visible line: its text and up to two highlight rectangles.
type monoRow struct {
	widget.BaseWidget
	m     *monoLines
	row   int
	text  *canvas.Text
	marks []*canvas.Rectangle
}

func newMonoRow(m *monoLines) *monoRow {
	r := &monoRow{m: m, row: -1}
	r.text = canvas.NewText("", theme.Color(theme.ColorNameForeground))
	r.text.TextStyle = fyne.TextStyle{Monospace: true}
	r.ExtendBaseWidget(r)
	return r
}

func (r *monoRow) setRow(row int) {
	r.row = row
	r.text.Text = r.m.text(row)
	r.Refresh()
}

// Tapped reports the row and column tapped.
func (r *monoRow) Tapped(ev *fyne.PointEvent) {
	if r.m.onTap == nil || r.row < 0 {
		return
	}
	cell := monoCell()
	col := int((ev.Position.X - theme.Padding()) / cell.Width)
	r.m.onTap(r.row, col)
}

func (r *monoRow) CreateRenderer() fyne.WidgetRenderer {
	return &monoRowRenderer{r: r}
}

type monoRowRenderer struct {
	r *monoRow
}

func (rr *monoRowRenderer) Destroy() {}

func (rr *monoRowRenderer) Objects() []fyne.CanvasObject {
	objs := make([]fyne.CanvasObject, 0, len(rr.r.marks)+1)
	for _, m := range rr.r.marks {
		objs = append(objs, m)
	}
	return append(objs, rr.r.text)
}

func (rr *monoRowRenderer) MinSize() fyne.Size {
	cell := monoCell()
	w := float32(0)
	if rr.r.m.longest != nil {
		w = float32(rr.r.m.longest()) * cell.Width
	}
	return fyne.NewSize(w+2*theme.Padding(), cell.Height)
}

func (rr *monoRowRenderer) Layout(size fyne.Size) {
	rr.r.text.Move(fyne.NewPos(theme.Padding(), 0))
	rr.r.text.Resize(fyne.NewSize(size.Width, size.Height))
	rr.layoutMarks(size)
}

func (rr *monoRowRenderer) layoutMarks(size fyne.Size) {
	cell := monoCell()
	var spans [][2]int
	if rr.r.row >= 0 && rr.r.m.marks != nil {
		spans = rr.r.m.marks(rr.r.row)
	}
	for len(rr.r.marks) < len(spans) {
		rr.r.marks = append(rr.r.marks, canvas.NewRectangle(color.Transparent))
	}
	for i, m := range rr.r.marks {
		if i >= len(spans) {
			m.Hide()
			continue
		}
		from, to := spans[i][0], spans[i][1]
		x := theme.Padding() + float32(from)*cell.Width
		w := float32(to-from) * cell.Width
		if to < 0 { // to the end of the row
			w = size.Width - x
		}
		m.FillColor = theme.Color(theme.ColorNameSelection)
		m.Move(fyne.NewPos(x, 0))
		m.Resize(fyne.NewSize(w, size.Height))
		m.Show()
	}
}

func (rr *monoRowRenderer) Refresh() {
	rr.r.text.Color = theme.Color(theme.ColorNameForeground)
	rr.r.text.TextSize = theme.TextSize()
	rr.layoutMarks(rr.r.Size())
	canvas.Refresh(rr.r)
}
