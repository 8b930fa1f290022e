//! `relink watch --keep-state` over an object built with gcc's default flags
//! (`gcc -O2 -c`) that has a thread-local variable (static TLS): new versions
//! take over with the kept global and a fresh thread-local, and a bad version
//! (one calling a function nothing defines) is reported while the running
//! version keeps being called, until a good one replaces it.
//! Objects: testdata/tls/edit/tick_{v1,v2,v3,bad}.c (testdata/build-tls.sh).

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

fn object(name: &str) -> Vec<u8> {
    std::fs::read(common::object("tls/gcc-default", name)).unwrap()
}

/// `relink watch --interval 20 OPTIONS INPUTS`, and its stdout and stderr lines.
fn watch(options: &[&str], inputs: &[&Path]) -> (Child, Receiver<String>, Receiver<String>) {
    let mut cmd = common::relink_command();
    cmd.args(["watch", "--interval", "20"])
        .args(options)
        .args(inputs)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let out = lines(child.stdout.take().unwrap());
    let err = lines(child.stderr.take().unwrap());
    (child, out, err)
}

/// Lines of a child's stream, as they come.
fn lines(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let reader = std::io::BufReader::new(stream);
        for line in reader.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line containing `want`; returns the lines seen up to it.
fn wait_for(rx: &Receiver<String>, want: &str, context: &[String]) -> Vec<String> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(want);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!(
        "no line with `{want}`; saw:\n{}\nstderr so far:\n{}",
        seen.join("\n"),
        context.join("\n")
    );
}

/// Replaces `path` the way build tools do: write aside, then rename over it.
fn replace_file(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// `tick vN total=T calls=C` → (N, T, C).
fn parse(line: &str) -> (String, u32, u32) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let number = |w: &str, key: &str| w.strip_prefix(key).unwrap().parse().unwrap();
    match words[..] {
        ["tick", version, total, calls] => (
            version.to_string(),
            number(total, "total="),
            number(calls, "calls="),
        ),
        _ => panic!("unexpected output line: {line}"),
    }
}

/// Every line's total is one more than the previous line's (`--keep-state`).
fn check_totals(lines: &[String]) {
    let totals: Vec<u32> = lines.iter().map(|l| parse(l).1).collect();
    for pair in totals.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "total kept:\n{}", lines.join("\n"));
    }
}

#[test]
fn watch_keeps_the_running_version_when_a_new_one_is_bad() {
    let dir = std::env::temp_dir().join(format!("relink-watch-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tick = dir.join("tick.o");
    std::fs::write(&tick, object("tick_v1")).unwrap();
    let (mut child, out, err) = watch(&["--keep-state", "--entry", "tick"], &[&tick]);
    let mut errors = Vec::new();
    let mut all = wait_for(&out, "tick v1 total=3", &errors);

    // A good version takes over: the global is kept, the thread-local starts
    // from the new version's image.
    replace_file(&tick, &object("tick_v2"));
    errors.extend(wait_for(&err, "relink: reloaded", &errors));
    let seen = wait_for(&out, "tick v2", &errors);
    assert_eq!(parse(seen.last().unwrap()).2, 1, "{seen:?}");
    all.extend(seen);

    // A bad version: reported, and v2 keeps being called.
    replace_file(&tick, &object("tick_bad"));
    let seen = wait_for(&err, "keeping the running version", &errors);
    let report = seen.join("\n");
    errors.extend(seen);
    assert!(
        report.contains("relink: watch: ") && report.contains("`not_defined_anywhere`"),
        "{errors:?}"
    );
    let mut after = Vec::new();
    for _ in 0..5 {
        after.extend(wait_for(&out, "tick", &errors));
    }
    assert!(
        after.iter().all(|l| l.starts_with("tick v2 ")),
        "v2 keeps running after the bad version: {after:?}"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "watch is still running"
    );
    all.extend(after);

    // A good version again takes over.
    replace_file(&tick, &object("tick_v3"));
    let seen = wait_for(&out, "tick v3", &errors);
    assert_eq!(parse(seen.last().unwrap()).2, 1, "{seen:?}");
    all.extend(seen);
    all.extend(wait_for(&out, "tick v3", &errors));
    check_totals(&all);

    assert!(
        child.try_wait().unwrap().is_none(),
        "watch is still running"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

/// Files that change within the settle window are replaced together: here a
/// variable moves from a.o to b.o, which neither replace allows alone. A file
/// that is not an input, changing all the time beside them, does not matter.
#[test]
fn watch_replaces_files_changed_together_as_one() {
    let replace = |name: &str| std::fs::read(common::object("replace", name)).unwrap();
    let dir = std::env::temp_dir().join(format!("relink-watch-many-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b, main) = (dir.join("a.o"), dir.join("b.o"), dir.join("main.o"));
    std::fs::write(&a, replace("mv_a_v1")).unwrap();
    std::fs::write(&b, replace("mv_b_v1")).unwrap();
    std::fs::write(&main, replace("mv_main")).unwrap();
    let (mut child, out, err) = watch(&["--entry", "mv_tick"], &[&main, &a, &b]);
    let errors = Vec::new();
    wait_for(&out, "a1 b5", &errors);
    // Another file in the directory changing all the time (a log, say) does not
    // hold the inputs' reload back.
    let noisy = dir.join("noise.log");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let noise = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            for i in 0u64.. {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                std::fs::write(&noisy, i.to_string()).unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    replace_file(&a, &replace("mv_a_v2"));
    replace_file(&b, &replace("mv_b_v2"));
    let seen = wait_for(&err, "relink: reloaded", &errors);
    assert!(
        seen.last().unwrap().contains("a.o") && seen.last().unwrap().contains("b.o"),
        "{seen:?}"
    );
    wait_for(&out, "a2 b1007", &errors);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    noise.join().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

/// `relink watch --executor`: a version that crashes ends its executor, not
/// the watch. The crash is reported by symbol, the crashed version is not run
/// again, and the next version starts in a new executor.
#[test]
fn watch_executor_restarts_a_crashed_program_with_the_next_version() {
    let dir = std::env::temp_dir().join(format!("relink-watch-exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tc = common::toolchain();
    let version = |name: &str, body: &str| -> Vec<u8> {
        let src = dir.join(format!("{name}.c"));
        std::fs::write(
            &src,
            format!(
                "#include <stdio.h>\nint *volatile bad = (int *)8;\nstatic int n;\n\
                 int tick(void) {{ ++n; {body} fflush(stdout); return 0; }}\n"
            ),
        )
        .unwrap();
        let obj = dir.join(format!("{name}.o"));
        let mut cc = std::process::Command::new(tc.cc);
        cc.args(["-c", "-O1", "-fPIC", "-o"]).arg(&obj).arg(&src);
        common::build(cc);
        std::fs::read(obj).unwrap()
    };
    let v1 = version("v1", r#"printf("tick v1 n=%d\n", n);"#);
    let crash = version(
        "crash",
        r#"printf("tick crash\n"); fflush(stdout); n += *bad;"#,
    );
    let v3 = version("v3", r#"printf("tick v3 n=%d\n", n);"#);
    let tick = dir.join("tick.o");
    std::fs::write(&tick, &v1).unwrap();
    let relink = env!("CARGO_BIN_EXE_relink");
    let executor = match tc.runner.is_empty() {
        true => format!("{relink} executor"),
        false => format!("{} {relink} executor", tc.runner.join(" ")),
    };
    let (mut child, out, err) = watch(&["--executor", &executor, "--entry", "tick"], &[&tick]);
    let mut errors = Vec::new();
    wait_for(&out, "tick v1 n=3", &errors);

    replace_file(&tick, &crash);
    wait_for(&out, "tick crash", &errors);
    let seen = wait_for(&err, "restarting after the next version", &errors);
    let report = seen.join("\n");
    errors.extend(seen);
    assert!(
        report.contains("SIGSEGV in tick+") && report.contains("tick.o"),
        "the crash is named by symbol: {report}"
    );
    // Nothing runs until a new version comes: the crashed one is not retried.
    std::thread::sleep(Duration::from_millis(300));
    assert!(out.try_iter().all(|l| !l.contains("tick")), "nothing ran");
    assert!(
        child.try_wait().unwrap().is_none(),
        "watch is still running"
    );

    // The next version starts afresh (its static starts at 0 again).
    replace_file(&tick, &v3);
    errors.extend(wait_for(&err, "restarted in a new executor", &errors));
    let seen = wait_for(&out, "tick v3 n=2", &errors);
    assert_eq!(
        seen.first().map(String::as_str),
        Some("tick v3 n=1"),
        "{seen:?}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
