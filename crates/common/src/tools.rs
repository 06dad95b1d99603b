//! Finding the tools `./dev` installs next to the repository (anvil under
//! `node_modules/`, emulators under `.tools/`), from wherever a binary or a
//! test runs.

use std::path::{Path, PathBuf};

/// `relative` below the working directory or one of its parents, else below
/// `build_dir` (a crate's `CARGO_MANIFEST_DIR`) or one of its parents.
pub fn find_upwards(relative: &str, build_dir: &Path) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        dirs.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    dirs.extend(build_dir.ancestors().map(Path::to_path_buf));
    dirs.into_iter()
        .map(|dir| dir.join(relative))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_file_in_a_parent_and_nothing_that_is_not_there() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let found = find_upwards("Cargo.lock", &here.join("src"));
        assert!(found.is_some_and(|p| p.ends_with("Cargo.lock")));
        assert_eq!(find_upwards("no/such/tool-xyz", here), None);
    }
}
