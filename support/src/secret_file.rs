//! Files that hold secrets (keys, the sandbox team's API key), readable and writable by their
//! owner only (mode 0600 on Unix), from the moment they exist.

use std::io::Write;
use std::path::Path;

/// Creates `path` with `contents`; fails if it exists already, so that a secret is never
/// silently replaced. Missing parent directories are made.
pub fn create(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    owner_only(&mut options);
    options.open(path)?.write_all(contents)
}

/// Writes `contents` to `path`, replacing what was there. A file that existed with looser
/// permissions is narrowed to its owner before the secret is written.
pub fn replace(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    owner_only(&mut options);
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)
}

/// Reads the secret at `path`, or makes it with `generate` and stores it there on first use.
pub fn read_or_create(path: &Path, generate: impl FnOnce() -> Vec<u8>) -> std::io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let bytes = generate();
            create(path, &bytes)?;
            Ok(bytes)
        }
        Err(error) => Err(error),
    }
}

/// Creates an empty file readable by its owner only, unless it exists: a database file made
/// this way keeps that mode, and SQLite gives its `-wal` and `-shm` files the same.
pub fn ensure_exists(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    owner_only(&mut options);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(unix)]
fn owner_only(options: &mut std::fs::OpenOptions) {
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
}

#[cfg(not(unix))]
fn owner_only(_options: &mut std::fs::OpenOptions) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_created_secret_is_the_owners_only_and_never_overwritten() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("nested/key");
        create(&path, b"first").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        assert_eq!(create(&path, b"second").unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_replaced_secret_is_narrowed_to_its_owner() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("api-key");
        std::fs::write(&path, b"old and world-readable").unwrap();
        replace(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn read_or_create_generates_once() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("vault-key");
        assert_eq!(read_or_create(&path, || b"generated".to_vec()).unwrap(), b"generated");
        assert_eq!(read_or_create(&path, || b"again".to_vec()).unwrap(), b"generated");
    }

    #[test]
    fn ensure_exists_keeps_what_is_there() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("data.db");
        ensure_exists(&path).unwrap();
        std::fs::write(&path, b"rows").unwrap();
        ensure_exists(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"rows");
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
    }
}
