//! Where a line's stations stand in a drawing of it: branches side by side. Shared by
//! the 3D viewer and the HTML report so that both draw a line the same way.

/// Each station's column (the longest run of buffers from the line's start to it: a
/// series line's stations stand one per column) and its place across the line among the
/// stations of its column (centred on 0, one step per station), for a line of `stations`
/// stations in flow order joined by `buffers` (each: the stations feeding it, those it
/// feeds).
///
/// ```
/// // A filler, two labellers side by side, a packer.
/// let places = twin_models::line::diagram::places(4, &[
///     (vec![0], vec![1]),
///     (vec![0], vec![2]),
///     (vec![1, 2], vec![3]),
/// ]);
/// assert_eq!(places, vec![(0, 0.0), (1, -0.5), (1, 0.5), (2, 0.0)]);
/// ```
pub fn places(stations: usize, buffers: &[(Vec<usize>, Vec<usize>)]) -> Vec<(usize, f32)> {
    let mut column = vec![0usize; stations];
    // In flow order whatever feeds a station comes before it: one pass settles it.
    let mut feeding: Vec<Vec<usize>> = vec![Vec::new(); stations];
    for (from, to) in buffers {
        for &t in to {
            feeding[t].extend(from.iter().copied());
        }
    }
    for s in 0..stations {
        for &f in &feeding[s] {
            if f < s {
                column[s] = column[s].max(column[f] + 1);
            }
        }
    }
    let n = column.iter().max().map_or(0, |c| c + 1);
    let mut count = vec![0usize; n];
    for &c in &column {
        count[c] += 1;
    }
    let mut seen = vec![0usize; n];
    column
        .iter()
        .map(|&c| {
            let k = seen[c];
            seen[c] += 1;
            (c, k as f32 - (count[c] - 1) as f32 / 2.0)
        })
        .collect()
}
