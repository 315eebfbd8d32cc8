//! Generates the MicroPython declarations the crate needs with bindgen.
//!
//! The port's own compiler flags are handed over by `cmodule/trouble/micropython.mk`
//! (`TROUBLE_CFLAGS`, relative to `TROUBLE_CFLAGS_DIR`), so the bindings match the
//! port being built. Without them (plain `cargo build`/`cargo test`, thumb checks)
//! the unix port's headers of the pinned MicroPython tree are used.
use std::env;
use std::path::{Path, PathBuf};

/// MicroPython's optional parts of the bluetooth module and the cargo feature
/// (as cargo names it in the environment) that builds the matching Rust code.
const SWITCHES: [(&str, &str); 4] = [
    ("MICROPY_PY_BLUETOOTH_ENABLE_CENTRAL_MODE", "CARGO_FEATURE_CENTRAL"),
    ("MICROPY_PY_BLUETOOTH_ENABLE_GATT_CLIENT", "CARGO_FEATURE_GATT_CLIENT"),
    ("MICROPY_PY_BLUETOOTH_ENABLE_L2CAP_CHANNELS", "CARGO_FEATURE_L2CAP"),
    ("MICROPY_PY_BLUETOOTH_ENABLE_PAIRING_BONDING", "CARGO_FEATURE_PAIRING"),
];

/// The value of `-DNAME=VALUE` (or `1` for `-DNAME`) among `args`, if defined there.
fn defined<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().rev().find_map(|a| {
        let d = a.strip_prefix("-D")?.strip_prefix(name)?;
        if d.is_empty() {
            Some("1")
        } else {
            d.strip_prefix('=')
        }
    })
}

/// The bluetooth module's configuration for this backend, as `-D` flags
/// (cmodule/trouble/defines.txt, which the C module's build reads too), for
/// what the port's flags (`args`) don't define already. An optional part
/// follows the cargo feature in a plain cargo build; in a port's build both
/// come from micropython.mk, and a disagreement stops the build here rather
/// than as missing bindings later.
fn bt_defines(manifest: &Path, args: &[String]) -> Vec<String> {
    let path = manifest.join("cmodule/trouble/defines.txt");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(&path).expect("cmodule/trouble/defines.txt");
    let mut out: Vec<String> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .filter(|l| {
            let name = l.split('=').next().unwrap_or(l);
            defined(args, name).is_none() && !SWITCHES.iter().any(|(s, _)| *s == name)
        })
        .map(|l| format!("-D{l}"))
        .collect();
    for (name, feature) in SWITCHES {
        let on = env::var_os(feature).is_some();
        match defined(args, name) {
            None => out.push(format!("-D{name}={}", on as u8)),
            Some(v) if (v.trim_matches(|c| c == '(' || c == ')') != "0") != on => panic!(
                "{name}={v} but the cargo feature {} is {}: set both from micropython.mk",
                feature.trim_start_matches("CARGO_FEATURE_").to_lowercase().replace('_', "-"),
                if on { "on" } else { "off" }
            ),
            Some(_) => {}
        }
    }
    out
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    for var in ["TROUBLE_CFLAGS", "TROUBLE_CFLAGS_DIR", "TROUBLE_LIBC_INCLUDE", "MICROPY_DIR"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=cmodule/trouble/trouble_port.h");

    let mut args: Vec<String> = Vec::new();
    match env::var("TROUBLE_CFLAGS") {
        Ok(flags) => {
            let dir = PathBuf::from(env::var("TROUBLE_CFLAGS_DIR").unwrap_or_else(|_| ".".into()));
            args.extend(port_flags(&flags, &dir));
        }
        Err(_) => args.extend(default_flags(&manifest)),
    }
    let defines = bt_defines(&manifest, &args);
    args.extend(defines);
    // qstr enums and compressed error strings are generated during the port
    // build; the declarations we need use neither.
    args.push("-DNO_QSTR".into());
    args.push("-UMICROPY_ROM_TEXT_COMPRESSION".into());
    args.push("-DMICROPY_ROM_TEXT_COMPRESSION=0".into());
    args.push(format!("-I{}", manifest.join("cmodule/trouble").display()));
    let target = env::var("TARGET").unwrap();
    if target.starts_with("thumb") {
        // clang knows the triple; only the float ABI suffix differs from rustc's.
        args.push(format!("--target={}", target.replace("-none-eabihf", "-none-eabi")));
        // clang has no C library for bare-metal targets; use the toolchain's (newlib).
        if let Ok(inc) = env::var("TROUBLE_LIBC_INCLUDE") {
            args.push(format!("-isystem{inc}"));
        }
    }

    let bindings = bindgen::Builder::default()
        .header_contents(
            "wrapper.h",
            "#include \"py/mpconfig.h\"\n#include \"py/runtime.h\"\n#include \"py/mphal.h\"\n#include \"py/mperrno.h\"\n\
             #include \"extmod/modbluetooth.h\"\n#include \"extmod/mpbthci.h\"\n#include \"trouble_port.h\"\n",
        )
        .clang_args(&args)
        .use_core()
        // Rebuild when a header changes (a port's mpconfigport.h, say), not
        // only when the flags do.
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        // MP_Exxx are defined as the libc names on some ports; let clang evaluate them.
        .clang_macro_fallback()
        .allowlist_function("mp_bluetooth_.*")
        .allowlist_function("mp_trouble_.*")
        .allowlist_function("mp_raise_OSError")
        .allowlist_function("mp_raise_ValueError")
        .allowlist_type("mp_obj_bluetooth_uuid_t")
        .allowlist_type("mp_trouble_stats_t")
        .allowlist_type("mp_bluetooth_gatts_db_entry_t")
        .allowlist_var("MP_BLUETOOTH_.*")
        .allowlist_var("mp_type_bluetooth_uuid")
        .allowlist_var("MP_E.*")
        .allowlist_var("MP_STREAM_.*")
        .layout_tests(false)
        .generate()
        .expect("bindgen could not parse the MicroPython headers");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("bindings.rs");
    bindings.write_to_file(out).expect("writing bindings");
}

/// Keeps the include paths and macro definitions of the port's compiler flags.
///
/// The flags come from make unparsed, so shell escaping (`\"`) is undone here and
/// options given as two words (`-U NAME`) are joined.
fn port_flags(flags: &str, dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut words = flags.split_whitespace().map(|w| w.replace("\\\"", "\"").replace('\'', ""));
    while let Some(w) = words.next() {
        let (opt, rest) = if w.len() > 2 { w.split_at(2) } else { (w.as_str(), "") };
        if !matches!(opt, "-I" | "-D" | "-U") {
            if w.starts_with("-std=") || w == "-m32" {
                out.push(w);
            }
            continue;
        }
        let value = if rest.is_empty() { words.next().unwrap_or_default() } else { rest.to_string() };
        if opt == "-I" {
            let p = Path::new(&value);
            let abs = if p.is_absolute() { p.to_path_buf() } else { dir.join(p) };
            out.push(format!("-I{}", abs.display()));
        } else {
            out.push(format!("{opt}{value}"));
        }
    }
    out
}

/// Falls back to the unix port of the pinned (or the user's) MicroPython tree.
fn default_flags(manifest: &Path) -> Vec<String> {
    let mpy = env::var("MICROPY_DIR").map(PathBuf::from).unwrap_or_else(|_| manifest.join("build/micropython-1.25.0"));
    if !mpy.join("py/mpconfig.h").exists() {
        panic!("MicroPython source not found at {}: run `make micropython` or set MICROPY_DIR", mpy.display());
    }
    let target = env::var("TARGET").unwrap();
    let port = if target.starts_with("thumb") { "qemu" } else { "unix" };
    let mut v = vec![format!("-I{}", mpy.display()), format!("-I{}", mpy.join("ports").join(port).display())];
    if port == "unix" {
        v.push(format!("-I{}", mpy.join("ports/unix/variants/standard").display()));
        v.push("-DMICROPY_PY_THREAD=1".into());
    } else {
        v.push(format!("-I{}", mpy.join("ports/qemu/boards/MPS2_AN385").display()));
    }
    v
}
