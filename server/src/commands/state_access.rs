//! Finding vigil's state file (`vigil-state.sqlite`) from a one-off command
//! without creating it: a mistyped `--data-dir` must fail, not start an
//! empty state that nothing else reads.

use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::state::state_path;

/// The state file in `dir` when it exists; `None` when `dir` exists but
/// nothing has been recorded there yet; an error naming `dir` when the
/// directory itself is missing (it is created by `serve`, `check` and
/// `simulate`).
pub fn existing_state(dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    if !dir.is_dir() {
        bail!(
            "data directory {} does not exist: `vigil simulate --data-dir {0}` or \
             `vigil serve --data-dir {0}` create it; check --data-dir, VIGIL_DATA_DIR \
             and the config's [source] path",
            dir.display()
        );
    }
    let path = state_path(dir);
    Ok(path.exists().then_some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_is_an_error_and_stays_missing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let typo = dir.path().join("typo_dir");
        let message = existing_state(&typo).unwrap_err().to_string();
        assert!(message.contains(&typo.display().to_string()), "{message}");
        assert!(!typo.exists());
    }

    #[test]
    fn an_existing_directory_without_state_is_empty() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(existing_state(dir.path()).unwrap(), None);
        assert!(!state_path(dir.path()).exists());
    }
}
