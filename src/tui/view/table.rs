//! The data table every list screen draws with: only the rows that fit are built, and the
//! first row shown is kept between frames, so the view scrolls only when the selection
//! leaves it (moving up inside a scrolled list moves the highlight, not the rows).

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Block, Row, Table};
use ratatui::Frame;
use std::cell::Cell;
use std::ops::Range;

/// Where a table's view begins, remembered between frames. It lives in the screen's state;
/// drawing (which reads the state) moves it, hence the cell.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scroll(Cell<usize>);

impl Scroll {
    /// The rows to show, `height` of them at most, from rows `first..first + len` (the
    /// window of rows held; `first` is 0 unless the list pages), keeping `selected` in view
    /// and the previous start where it still does.
    pub fn window(&self, selected: usize, first: usize, len: usize, height: usize) -> Range<usize> {
        let end = first + len;
        if height == 0 || len == 0 {
            self.0.set(first);
            return first..first;
        }
        let mut top = self.0.get();
        // Never past the end of the rows (a shorter list, a taller screen)…
        top = top.min(end.saturating_sub(height)).max(first);
        // …and always showing the selection.
        let selected = selected.clamp(first, end - 1);
        if selected < top {
            top = selected;
        } else if selected >= top + height {
            top = selected + 1 - height;
        }
        self.0.set(top);
        top..(top + height).min(end)
    }

    /// The first row shown by the last frame.
    pub fn top(&self) -> usize {
        self.0.get()
    }

    /// Starts again from the first row (a new list).
    pub fn reset(&self) {
        self.0.set(0);
    }
}

/// One table: header, column widths, an optional block around it.
pub struct DataTable<'a> {
    pub header: Row<'a>,
    pub widths: Vec<Constraint>,
    pub block: Option<Block<'a>>,
    pub selected_style: Style,
    pub spacing: u16,
}

impl<'a> DataTable<'a> {
    pub fn new(header: Row<'a>, widths: Vec<Constraint>, selected_style: Style) -> Self {
        DataTable {
            header,
            widths,
            block: None,
            selected_style,
            spacing: 1,
        }
    }

    pub fn block(mut self, block: Block<'a>) -> Self {
        self.block = Some(block);
        self
    }

    /// Draws rows `first..first + len` of which `selected` is highlighted (`None`: none is),
    /// building only the visible ones with `row(i)`. Returns where the rows were drawn and
    /// the index of the first, for mouse hits.
    pub fn render(
        self,
        frame: &mut Frame,
        area: Rect,
        scroll: &Scroll,
        (first, len): (usize, usize),
        selected: Option<usize>,
        mut row: impl FnMut(usize) -> Row<'a>,
    ) -> (Rect, usize) {
        let inner = self.block.as_ref().map_or(area, |b| b.inner(area));
        // The header takes the first line.
        let height = inner.height.saturating_sub(1) as usize;
        let shown = scroll.window(selected.unwrap_or(first), first, len, height);
        let top = shown.start;
        let rows: Vec<Row> = shown
            .map(|i| {
                let r = row(i);
                if Some(i) == selected {
                    r.style(self.selected_style)
                } else {
                    r
                }
            })
            .collect();
        let mut table = Table::new(rows, self.widths)
            .header(self.header)
            .column_spacing(self.spacing);
        if let Some(b) = self.block {
            table = table.block(b);
        }
        frame.render_widget(table, area);
        let rows_area = Rect {
            y: inner.y + 1,
            height: height as u16,
            ..inner
        };
        (rows_area, top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_scrolls_only_when_the_selection_leaves_it() {
        let s = Scroll::default();
        // 100 rows, 10 visible: moving down to row 9 keeps the top.
        for sel in 0..10 {
            assert_eq!(s.window(sel, 0, 100, 10), 0..10);
        }
        // Row 10 scrolls one row; row 25 shows 16..26.
        assert_eq!(s.window(10, 0, 100, 10), 1..11);
        assert_eq!(s.window(25, 0, 100, 10), 16..26);
        // Moving back up inside the view keeps it where it is…
        assert_eq!(s.window(20, 0, 100, 10), 16..26);
        assert_eq!(s.window(16, 0, 100, 10), 16..26);
        // …until the selection leaves it at the top.
        assert_eq!(s.window(15, 0, 100, 10), 15..25);
        assert_eq!(s.top(), 15);
    }

    #[test]
    fn a_window_of_a_paged_list_and_a_shrinking_one_stay_in_bounds() {
        let s = Scroll::default();
        // Rows 500..600 held, selection at 550: the view is inside the window.
        assert_eq!(s.window(550, 500, 100, 10), 541..551);
        // The list shrinks to 5 rows: all of them, from the first.
        assert_eq!(s.window(3, 0, 5, 10), 0..5);
        // A taller screen than the rows after the top: the top moves back.
        s.window(95, 0, 100, 10);
        assert_eq!(s.window(95, 0, 100, 40), 60..100);
        // Nothing to show, or no room.
        assert_eq!(s.window(0, 0, 0, 10), 0..0);
        assert_eq!(s.window(5, 0, 10, 0), 0..0);
        // A selection beyond the rows held is shown as the last.
        assert_eq!(Scroll::default().window(99, 0, 20, 5), 15..20);
    }
}
