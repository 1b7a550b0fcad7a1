//! The driver's settings from Aeron's environment variables, as Aeron's system tests set them for every
//! driver they launch (`CTestMediaDriver`). One test, because it changes this process's environment.

use std::time::Duration;

use oxeron_driver::context::FlowControlStrategy;
use oxeron_driver::Context;

fn with_env<T>(vars: &[(&str, &str)], f: impl FnOnce() -> T) -> T {
    for (name, value) in vars {
        std::env::set_var(name, value);
    }
    let result = f();
    for (name, _) in vars {
        std::env::remove_var(name);
    }
    result
}

#[test]
fn aeron_system_test_settings_take_effect_or_are_refused_by_name() {
    // What CTestMediaDriver passes for a default Java MediaDriver.Context.
    let defaults = [
        ("AERON_DRIVER_TERMINATION_VALIDATOR", "allow"),
        ("AERON_DIR_DELETE_ON_SHUTDOWN", "false"),
        ("AERON_PUBLICATION_CONNECTION_TIMEOUT", "5000000000"),
        ("AERON_RCV_STATUS_MESSAGE_TIMEOUT", "200000000"),
        ("AERON_PERFORM_STORAGE_CHECKS", "true"),
        ("AERON_UNTETHERED_WINDOW_LIMIT_TIMEOUT", "5000000000"),
        ("AERON_UNTETHERED_RESTING_TIMEOUT", "10000000000"),
        ("AERON_FLOW_CONTROL_GROUP_TAG", "-1"),
        ("AERON_FLOW_CONTROL_GROUP_MIN_SIZE", "0"),
        ("AERON_PRINT_CONFIGURATION", "true"),
        ("AERON_DRIVER_CONDUCTOR_CYCLE_THRESHOLD", "100000000"),
        ("AERON_DRIVER_SENDER_CYCLE_THRESHOLD", "100000000"),
        ("AERON_DRIVER_RECEIVER_CYCLE_THRESHOLD", "100000000"),
        ("AERON_DRIVER_NAME_RESOLVER_THRESHOLD", "5000000000"),
        ("AERON_ENABLE_EXPERIMENTAL_FEATURES", "false"),
        ("AERON_DRIVER_STREAM_SESSION_LIMIT", "2147483647"),
        ("AERON_DRIVER_RESOLVER_NEIGHBOR_TIMEOUT", "10000000000"),
        ("AERON_EVENT_LOG", "admin"),
        ("AERON_CONDUCTOR_IDLE_STRATEGY", "sleep-ms"),
        ("AERON_NAK_UNICAST_DELAY", "0"),
        (
            "AERON_MULTICAST_FLOWCONTROL_SUPPLIER",
            "aeron_min_flow_control_strategy_supplier",
        ),
        (
            "AERON_UNICAST_FLOWCONTROL_SUPPLIER",
            "aeron_unicast_flow_control_strategy_supplier",
        ),
        ("AERON_UDP_CHANNEL_INCOMING_INTERCEPTORS", "loss"),
        (
            "AERON_UDP_CHANNEL_TRANSPORT_BINDINGS_LOSS_ARGS",
            "rate=0.2|seed=1|recv-msg-mask=0x2",
        ),
    ];
    let ctx = with_env(&defaults, Context::from_env).expect("Aeron's defaults are accepted");
    assert!(ctx.allow_termination);
    assert!(!ctx.dir_delete_on_shutdown);
    assert!(ctx.print_configuration);
    assert_eq!(ctx.publication_connection_timeout, Duration::from_secs(5));
    assert_eq!(ctx.nak_unicast_delay, Duration::ZERO);
    assert_eq!(ctx.multicast_flow_control, FlowControlStrategy::Min);
    assert!(ctx.loss_policy.is_some());

    let deny = with_env(
        &[(
            "AERON_DRIVER_TERMINATION_VALIDATOR",
            "io.aeron.driver.DefaultDenyTerminationValidator",
        )],
        Context::from_env,
    )
    .unwrap();
    assert!(!deny.allow_termination);

    // Each asks for something Oxeron's driver does not do: refused, naming the variable.
    for (name, value) in [
        (
            "AERON_DRIVER_TERMINATION_VALIDATOR",
            "com.example.MyValidator",
        ),
        ("AERON_UNTETHERED_WINDOW_LIMIT_TIMEOUT", "1s"),
        ("AERON_UNTETHERED_LINGER_TIMEOUT", "1s"),
        ("AERON_DRIVER_STREAM_SESSION_LIMIT", "3"),
        ("AERON_DRIVER_RESOLVER_NAME", "node0"),
        ("AERON_NAME_RESOLVER_SUPPLIER", "csv_table"),
        ("AERON_SENDER_WILDCARD_PORT_RANGE", "20000 20099"),
        ("AERON_UDP_CHANNEL_OUTGOING_INTERCEPTORS", "loss"),
        (
            "AERON_UDP_CHANNEL_INCOMING_INTERCEPTORS",
            "aeron_transport_security_channel_interceptor_load",
        ),
        (
            "AERON_MULTICAST_FLOWCONTROL_SUPPLIER",
            "com.example.MyFlowControl",
        ),
        ("AERON_DRIVER_SENDER_CYCLE_THRESHOLD", "1ms"),
    ] {
        let err = with_env(&[(name, value)], Context::from_env).unwrap_err();
        assert_eq!(err.name, name, "{err}");
        assert!(err.to_string().contains(name), "{err}");
    }
}
