//! The archive's environment settings as Aeron names them: what each one sets, and the Java settings this
//! archive cannot act on, refused with the setting named. One test, because the environment is the
//! process's.

use oxeron_archive::server::Context;

fn with_env<T>(vars: &[(&str, &str)], read: impl FnOnce() -> T) -> T {
    for (name, value) in vars {
        std::env::set_var(name, value);
    }
    let result = read();
    for (name, _) in vars {
        std::env::remove_var(name);
    }
    result
}

fn refusal(vars: &[(&str, &str)]) -> String {
    with_env(vars, Context::from_env)
        .expect_err("refused")
        .to_string()
}

#[test]
fn environment_settings_are_read_and_unsupported_ones_refused() {
    let ctx = with_env(
        &[
            ("AERON_ARCHIVE_CATALOG_CAPACITY", "4m"),
            ("AERON_ARCHIVE_MARK_FILE_DIR", "/tmp/oxeron-marks"),
            ("AERON_ARCHIVE_ERROR_BUFFER_LENGTH", "2m"),
            ("AERON_ARCHIVE_LOW_STORAGE_SPACE_THRESHOLD", "1g"),
            ("AERON_ARCHIVE_REPLAY_LINGER_TIMEOUT", "250ms"),
            ("AERON_ARCHIVE_FILE_IO_MAX_LENGTH", "2m"),
            ("AERON_ARCHIVE_CONTROL_TERM_BUFFER_LENGTH", "128k"),
            ("AERON_ARCHIVE_CONTROL_MTU_LENGTH", "4k"),
            ("AERON_ARCHIVE_CONTROL_TERM_BUFFER_SPARSE", "false"),
            ("AERON_ARCHIVE_AUTHORISATION_SERVICE_SUPPLIER", "DENY_ALL"),
            ("AERON_ARCHIVE_CONDUCTOR_CPU_AFFINITY", "-1"),
            (
                "AERON_ARCHIVE_AUTHENTICATOR_SUPPLIER",
                "io.aeron.security.DefaultAuthenticatorSupplier",
            ),
        ],
        Context::from_env,
    )
    .expect("settings");
    ctx.validate().expect("valid");
    let shown = format!("{ctx:?}");
    for expected in [
        "catalog_capacity: 4194304",
        "mark_file_dir: Some(\"/tmp/oxeron-marks\")",
        "error_buffer_length: 2097152",
        "low_storage_space_threshold: 1073741824",
        "replay_linger_timeout: 250ms",
        "file_io_max_length: 2097152",
        "control_term_buffer_length: 131072",
        "control_mtu_length: 4096",
        "control_term_buffer_sparse: false",
    ] {
        assert!(shown.contains(expected), "{expected} not in {shown}");
    }
    assert_eq!(
        ctx.mark_file_dir_path(),
        std::path::Path::new("/tmp/oxeron-marks")
    );

    // The client reads the control term settings under the same names.
    let client = with_env(
        &[
            ("AERON_ARCHIVE_CONTROL_TERM_BUFFER_LENGTH", "128k"),
            ("AERON_ARCHIVE_CONTROL_MTU_LENGTH", "4k"),
            ("AERON_ARCHIVE_CONTROL_TERM_BUFFER_SPARSE", "false"),
        ],
        oxeron_archive::client::Context::from_env,
    )
    .expect("client settings");
    let shown = format!("{client:?}");
    for expected in [
        "control_term_buffer_length: 131072",
        "control_mtu_length: 4096",
        "control_term_buffer_sparse: false",
    ] {
        assert!(shown.contains(expected), "{expected} not in {shown}");
    }

    for (name, value, reason) in [
        ("AERON_ARCHIVE_RECORDER_CPU_AFFINITY", "1", "affinity"),
        (
            "AERON_ARCHIVE_MAX_CATALOG_ENTRIES",
            "8192",
            "CATALOG_CAPACITY",
        ),
        (
            "AERON_ARCHIVE_AUTHENTICATOR_SUPPLIER",
            "com.acme.Authenticators",
            "Java class",
        ),
        (
            "AERON_ARCHIVE_AUTHORISATION_SERVICE_SUPPLIER",
            "com.acme.Rules",
            "Java class",
        ),
        ("AERON_ARCHIVE_CATALOG_CAPACITY", "lots", "lots"),
    ] {
        let error = refusal(&[(name, value)]);
        assert!(error.contains(name), "{error}");
        assert!(error.contains(reason), "{error}");
    }

    let ctx = with_env(
        &[("AERON_ARCHIVE_CONTROL_MTU_LENGTH", "1000")],
        Context::from_env,
    )
    .unwrap();
    let error = ctx.validate().unwrap_err().to_string();
    assert!(
        error.contains("AERON_ARCHIVE_CONTROL_MTU_LENGTH"),
        "{error}"
    );
    let ctx = with_env(
        &[("AERON_ARCHIVE_CONTROL_TERM_BUFFER_LENGTH", "1000")],
        Context::from_env,
    )
    .unwrap();
    let error = ctx.validate().unwrap_err().to_string();
    assert!(
        error.contains("AERON_ARCHIVE_CONTROL_TERM_BUFFER_LENGTH"),
        "{error}"
    );
    Context::new().validate().expect("the defaults are valid");
}
