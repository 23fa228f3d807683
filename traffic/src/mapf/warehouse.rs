//! A synthetic warehouse floor: blocks of racks separated by aisles, with a free border
//! for cross traffic, written as a MovingAI map so any MAPF tool can read it.

use super::grid::GridMap;

/// The shape of a generated warehouse, in cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WarehouseShape {
    /// Blocks of racks across (columns of blocks).
    pub blocks_x: usize,
    /// Blocks of racks down (rows of blocks).
    pub blocks_y: usize,
    /// Cells per rack block, across.
    pub rack_length: usize,
    /// Cells per rack block, down.
    pub rack_depth: usize,
    /// Free cells between blocks (aisle width).
    pub aisle: usize,
    /// Free cells around the whole rack area.
    pub margin: usize,
}

impl WarehouseShape {
    /// Width and height of the map, cells.
    pub fn size(&self) -> (usize, usize) {
        let span = |blocks: usize, len: usize| {
            2 * self.margin + blocks * len + blocks.saturating_sub(1) * self.aisle
        };
        (
            span(self.blocks_x, self.rack_length),
            span(self.blocks_y, self.rack_depth),
        )
    }

    /// Its (width, height) in cells, when the map has at most [`super::MAX_CELLS`] cells
    /// (the most a map may hold); `None` when it would have more.
    pub fn checked_size(&self) -> Option<(usize, usize)> {
        let span = |blocks: usize, len: usize| {
            blocks
                .checked_mul(len)?
                .checked_add(blocks.saturating_sub(1).checked_mul(self.aisle)?)?
                .checked_add(self.margin.checked_mul(2)?)
        };
        let (w, h) = (
            span(self.blocks_x, self.rack_length)?,
            span(self.blocks_y, self.rack_depth)?,
        );
        (w.checked_mul(h)? <= super::MAX_CELLS).then_some((w, h))
    }

    /// Whether cell (x, y) is a rack (blocked).
    pub fn is_rack(&self, x: usize, y: usize) -> bool {
        let inside = |c: usize, blocks: usize, len: usize| {
            if c < self.margin {
                return false;
            }
            let c = c - self.margin;
            let pitch = len + self.aisle;
            c / pitch < blocks && c % pitch < len
        };
        inside(x, self.blocks_x, self.rack_length) && inside(y, self.blocks_y, self.rack_depth)
    }

    /// The map as MovingAI text.
    pub fn to_map_text(&self) -> String {
        let (w, h) = self.size();
        let mut s = format!("type octile\nheight {h}\nwidth {w}\nmap\n");
        for y in 0..h {
            s.extend((0..w).map(|x| if self.is_rack(x, y) { '@' } else { '.' }));
            s.push('\n');
        }
        s
    }

    /// The map.
    pub fn to_map(&self) -> GridMap {
        let (w, h) = self.size();
        let free = (0..w * h).map(|c| !self.is_rack(c % w, c / w)).collect();
        GridMap::from_cells(w, h, free)
    }

    /// Pick faces: the free cells next to a rack (where a vehicle stops to pick or drop),
    /// as (x, y), row by row.
    pub fn pick_faces(&self) -> Vec<(usize, usize)> {
        let (w, h) = self.size();
        let mut out = Vec::new();
        for y in 0..h {
            for x in 0..w {
                if self.is_rack(x, y) {
                    continue;
                }
                let near = (x > 0 && self.is_rack(x - 1, y))
                    || (x + 1 < w && self.is_rack(x + 1, y))
                    || (y > 0 && self.is_rack(x, y - 1))
                    || (y + 1 < h && self.is_rack(x, y + 1));
                if near {
                    out.push((x, y));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_warehouse_by_hand() {
        let shape = WarehouseShape {
            blocks_x: 2,
            blocks_y: 1,
            rack_length: 2,
            rack_depth: 1,
            aisle: 1,
            margin: 1,
        };
        assert_eq!(
            shape.to_map_text(),
            "type octile\nheight 3\nwidth 7\nmap\n.......\n.@@.@@.\n.......\n"
        );
        let map = GridMap::parse(&shape.to_map_text()).unwrap();
        assert_eq!(map, shape.to_map());
        // Above and below each rack cell (4 + 4), and beside the racks on the middle row
        // (x = 0, 3, 6).
        assert_eq!(shape.pick_faces().len(), 11);
    }
}
