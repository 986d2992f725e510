//! Compiles the XDP steering program (`ebpf/xdp_dns.c`) and the bench's
//! in-kernel floor (`ebpf/xdp_reflect.c`) to BPF bytecode with BTF, into
//! `$OUT_DIR/<name>.o`, which the library embeds. Compiling here, rather than
//! shipping prebuilt objects, keeps source and bytecode in step.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{exit, Command};

const SOURCES: &[&str] =
    &["xdp_dns.c", "xdp_dns.h", "tier0_rrl.h", "tier0_stats.h", "tier0_capture.h", "xdp_reflect.c"];
/// The programs compiled, each `ebpf/<name>.c` into `$OUT_DIR/<name>.o`.
const PROGRAMS: &[&str] = &["xdp_dns", "xdp_reflect"];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let ebpf_dir = manifest_dir.join("../ebpf");
    for source in SOURCES {
        println!("cargo:rerun-if-changed={}", ebpf_dir.join(source).display());
    }
    println!("cargo:rerun-if-env-changed=CLANG");
    commit(&manifest_dir);

    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".to_owned());
    for program in PROGRAMS {
        compile(&clang, &ebpf_dir, &out_dir, program);
    }
}

/// `ebpf/<program>.c` into `$OUT_DIR/<program>.o`, or the build fails.
fn compile(clang: &str, ebpf_dir: &Path, out_dir: &Path, program: &str) {
    let source = ebpf_dir.join(format!("{program}.c"));
    let object = out_dir.join(format!("{program}.o"));
    let mut cmd = Command::new(clang);
    cmd.args(["-target", "bpf", "-O2", "-g", "-Wall", "-Wextra"])
        .arg("-I")
        .arg(ebpf_dir)
        // <linux/types.h> pulls in <asm/types.h>, which Debian keeps in the
        // multiarch directory that clang does not search for the bpf target.
        .arg("-I")
        .arg(multiarch_include_dir())
        .arg("-c")
        .arg(&source)
        .arg("-o")
        .arg(&object);

    let output = match cmd.output() {
        Ok(output) => output,
        Err(err) => fail(&format!(
            "cannot run `{clang}` ({err}). The XDP program needs clang and the libbpf headers: \
             run `cargo xtask deps` or `apt-get install clang llvm libbpf-dev`"
        )),
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("bpf/bpf_helpers.h") || stderr.contains("asm/types.h") {
            "\nmissing headers: run `cargo xtask deps` or `apt-get install libbpf-dev linux-libc-dev`"
        } else {
            ""
        };
        fail(&format!("compiling ebpf/{program}.c failed:\n{stderr}{hint}"));
    }
    // Not -Werror: a newer clang's new warnings should not break the build,
    // but they must be seen.
    for line in String::from_utf8_lossy(&output.stderr).lines() {
        println!("cargo:warning={line}");
    }
}

/// The commit built, for `responder_build_info` and the logs:
/// `RESPONDER_COMMIT` when set (a build from a tarball), else asked of git,
/// else "unknown". Rebuilt when HEAD moves.
fn commit(manifest_dir: &Path) {
    println!("cargo:rerun-if-env-changed=RESPONDER_COMMIT");
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).current_dir(manifest_dir).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let commit = env::var("RESPONDER_COMMIT").ok().or_else(|| git(&["rev-parse", "--short=12", "HEAD"]));
    // A missing file would make cargo rerun this script (and clang) every build.
    let head_ref = git(&["symbolic-ref", "-q", "HEAD"]);
    for path in ["HEAD", "packed-refs"].into_iter().chain(head_ref.as_deref()) {
        if let Some(file) = git(&["rev-parse", "--git-path", path]).map(|f| manifest_dir.join(f)) {
            if file.exists() {
                println!("cargo:rerun-if-changed={}", file.display());
            }
        }
    }
    println!("cargo:rustc-env=RESPONDER_COMMIT={}", commit.unwrap_or_else(|| "unknown".into()));
}

/// `/usr/include/<triple>`: asked of gcc when present, else derived from the
/// target so a clang-only machine still builds.
fn multiarch_include_dir() -> PathBuf {
    let from_gcc = Command::new("gcc")
        .arg("-print-multiarch")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|triple| !triple.is_empty());
    let triple = from_gcc.unwrap_or_else(|| {
        let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_else(|_| "x86_64".to_owned());
        format!("{arch}-linux-gnu")
    });
    Path::new("/usr/include").join(triple)
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    exit(1);
}
