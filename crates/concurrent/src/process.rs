//! Whether the process that wrote a file (a `cnc.dat`, a mark file) is still running on this host.

/// What `/proc` says of a process id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessState {
    /// The process exists and is not a zombie.
    Alive,
    /// No such process, or it has exited and only waits to be reaped.
    Dead,
    /// This host has no `/proc` to ask, or the id is not one a process can have.
    Unknown,
}

/// Looks up `pid` in `/proc`. A zombie (exited, not yet reaped by its parent) counts as dead: it
/// holds no mapped files and will never write to them again.
///
/// ```
/// use oxeron_concurrent::process::{process_state, ProcessState};
///
/// assert_eq!(process_state(i64::from(std::process::id())), ProcessState::Alive);
/// ```
pub fn process_state(pid: i64) -> ProcessState {
    if pid <= 0 || pid > i64::from(i32::MAX) || !std::path::Path::new("/proc/self").exists() {
        return ProcessState::Unknown;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the command name, which is in parentheses and may hold spaces.
        Ok(stat) => match stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
        {
            Some('Z' | 'X') => ProcessState::Dead,
            Some(_) => ProcessState::Alive,
            None => ProcessState::Unknown,
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ProcessState::Dead,
        Err(_) => ProcessState::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reaped_child_is_dead_and_a_zombie_too() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = i64::from(child.id());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // Unreaped, the exited child is a zombie.
        while process_state(pid) != ProcessState::Dead {
            assert!(
                std::time::Instant::now() < deadline,
                "child {pid} never exited"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child.wait().unwrap();
        assert_eq!(process_state(pid), ProcessState::Dead);
    }

    #[test]
    fn ids_no_process_can_have_are_unknown() {
        assert_eq!(process_state(0), ProcessState::Unknown);
        assert_eq!(process_state(-4), ProcessState::Unknown);
        assert_eq!(process_state(i64::MAX), ProcessState::Unknown);
    }
}
