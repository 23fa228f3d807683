pub fn run(_: &std::path::Path, _: usize) -> Result<(), String> { Ok(()) }
