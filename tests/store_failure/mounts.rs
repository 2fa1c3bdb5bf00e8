//! Filesystems a test breaks on purpose: a tiny tmpfs that fills up and an
//! ext4 volume that goes read-only. Mounting needs root: without it the
//! constructors print `SKIPPED` and return `None`. Each unmounts in `Drop`,
//! also when the test panics.
use std::{
    path::{Path, PathBuf},
    process::Command,
};

use tempfile::TempDir;

/// Runs a command that must succeed.
fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("{program} runs: {err}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

fn root_or_skip(what: &str) -> bool {
    let root = is_root();
    if !root {
        eprintln!("SKIPPED: needs root for {what} (mount); this test did not run");
    }
    root
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// Unmounts `dir`; when something still holds it (a binary that a panic
/// left exiting), detaches it lazily so no mount outlives the test.
fn unmount(dir: &Path) {
    let detached = Command::new("umount").arg(dir).status();
    if !detached.is_ok_and(|status| status.success()) {
        let _ = Command::new("umount").arg("-l").arg(dir).status();
    }
}

/// A tmpfs of a few MiB on a temporary directory.
pub(crate) struct Tmpfs {
    dir: TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `3m`); `None` without root.
    pub(crate) fn mount(size: &str) -> Option<Self> {
        if !root_or_skip("tmpfs") {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let options = format!("size={size}");
        run(
            "mount",
            &["-t", "tmpfs", "-o", &options, "tmpfs", path_str(dir.path())],
        );
        Some(Self { dir })
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        unmount(self.dir.path());
    }
}

/// An ext4 image on a loop device, mounted `errors=remount-ro`: a
/// filesystem error makes the kernel turn it read-only under open files,
/// as a failing volume does. (`mount -o remount,ro` cannot: Linux refuses
/// it with EBUSY while SQLite holds its files open for writing.)
pub(crate) struct Ext4 {
    /// Holds the image file.
    _images: TempDir,
    image: PathBuf,
    dir: TempDir,
}

/// Big enough for ext4's own metadata and a small store.
const IMAGE_BYTES: u64 = 16 << 20;

impl Ext4 {
    /// Makes and mounts a fresh volume; `None` without root.
    pub(crate) fn mount() -> Option<Self> {
        if !root_or_skip("a loop-mounted ext4 volume") {
            return None;
        }
        let images = tempfile::tempdir().expect("temp dir");
        let image = images.path().join("volume.img");
        std::fs::File::create(&image)
            .and_then(|file| file.set_len(IMAGE_BYTES))
            .expect("image file");
        run("mkfs.ext4", &["-q", "-F", path_str(&image)]);
        let volume = Self {
            _images: images,
            image,
            dir: tempfile::tempdir().expect("temp dir"),
        };
        volume.attach();
        Some(volume)
    }

    fn attach(&self) {
        let (image, dir) = (path_str(&self.image), path_str(self.dir.path()));
        run("mount", &["-o", "loop,errors=remount-ro", image, dir]);
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Reports a filesystem error, as ext4 does on a bad block: the kernel
    /// remounts the volume read-only, open files included.
    pub(crate) fn fail(&self) {
        let source = Command::new("findmnt")
            .args(["-no", "SOURCE", path_str(self.path())])
            .output()
            .expect("findmnt runs");
        let source = String::from_utf8(source.stdout).expect("UTF-8");
        let device = source.trim().trim_start_matches("/dev/");
        assert!(device.starts_with("loop"), "mounted from {source:?}");
        std::fs::write(format!("/sys/fs/ext4/{device}/trigger_fs_error"), "test")
            .expect("ext4 takes a test error");
    }

    /// What an operator does once nothing uses the volume: unmount,
    /// check and repair, mount again read-write.
    pub(crate) fn repair(&self) {
        run("umount", &[path_str(self.path())]);
        // 1: errors were corrected, as expected after `fail`.
        let checked = Command::new("e2fsck")
            .args(["-fy", path_str(&self.image)])
            .output()
            .expect("e2fsck runs");
        assert!(
            matches!(checked.status.code(), Some(0 | 1)),
            "e2fsck: {checked:?}"
        );
        self.attach();
    }
}

impl Drop for Ext4 {
    fn drop(&mut self) {
        unmount(self.dir.path());
    }
}
