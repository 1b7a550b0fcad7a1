//! Receive-endpoint routing of DATA and SETUP frames by stream and session: which images exist, which sessions
//! are wanted, and when to ask an unknown sender for a SETUP (Aeron's `aeron_data_packet_dispatcher.c` and the
//! pending-setup timer of `aeron_driver_receiver.c`).

use std::collections::{HashMap, HashSet};

use oxeron_protocol::frame::data::DataHeader;
use oxeron_protocol::frame::setup::Setup;
use oxeron_protocol::frame::status::{StatusMessage, SEND_SETUP_FLAG};

use super::MS;

/// How long a SETUP elicited from an unknown session is waited for before data may elicit another.
pub(crate) const PENDING_SETUP_TIMEOUT_NS: i64 = 1_000 * MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionState {
    /// A SETUP was asked for at this time.
    PendingSetupFrame(i64),
    /// The conductor is creating the image.
    InitInProgress,
    /// The image was removed; the session stays quiet until the conductor ends the cool down.
    CoolDown,
    /// Nobody subscribes to this session.
    NoInterest,
}

#[derive(Debug, Default)]
struct StreamInterest {
    all_sessions: bool,
    subscribed_sessions: HashSet<i32>,
    images: HashSet<i32>,
    states: HashMap<i32, SessionState>,
}

impl StreamInterest {
    fn wants(&self, session_id: i32) -> bool {
        self.all_sessions || self.subscribed_sessions.contains(&session_id)
    }
}

/// What to do with a DATA/PAD datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataAction {
    /// Hand it to the session's image.
    ToImage,
    /// No image yet: send this status message (SEND_SETUP) to the datagram's source (multicast: the control
    /// group) to ask for a SETUP.
    ElicitSetup(StatusMessage),
    /// Nobody wants it.
    Drop,
}

/// What to do with a SETUP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetupAction {
    /// Ask the conductor to create an image for this session (the session is now "init in progress").
    CreateImage,
    /// The image exists: record the source as a connection if it is new.
    AddConnection,
    /// Nobody wants it, or the image is being created or cooling down.
    Drop,
}

/// Stream and session routing of one receive channel endpoint.
#[derive(Debug, Default)]
pub(crate) struct DataPacketDispatcher {
    streams: HashMap<i32, StreamInterest>,
    receiver_id: i64,
    group_tag: Option<i64>,
}

impl DataPacketDispatcher {
    /// A dispatcher whose elicit-setup status messages carry `receiver_id` and `group_tag`.
    pub(crate) fn new(receiver_id: i64, group_tag: Option<i64>) -> Self {
        DataPacketDispatcher {
            streams: HashMap::new(),
            receiver_id,
            group_tag,
        }
    }

    /// A subscription to every session of `stream_id`.
    pub(crate) fn add_subscription(&mut self, stream_id: i32) {
        let interest = self.streams.entry(stream_id).or_default();
        if !interest.all_sessions {
            interest.all_sessions = true;
            interest
                .states
                .retain(|_, s| *s != SessionState::NoInterest);
        }
    }

    /// A subscription to one session (`session-id=`) of `stream_id`.
    pub(crate) fn add_subscription_by_session(&mut self, stream_id: i32, session_id: i32) {
        let interest = self.streams.entry(stream_id).or_default();
        interest.subscribed_sessions.insert(session_id);
        if interest.states.get(&session_id) == Some(&SessionState::NoInterest) {
            interest.states.remove(&session_id);
        }
    }

    /// The last all-sessions subscription to `stream_id` went away.
    pub(crate) fn remove_subscription(&mut self, stream_id: i32) {
        let Some(interest) = self.streams.get_mut(&stream_id) else {
            return;
        };
        let subscribed = interest.subscribed_sessions.clone();
        interest.images.retain(|s| subscribed.contains(s));
        interest.states.retain(|s, _| subscribed.contains(s));
        interest.all_sessions = false;
        if interest.images.is_empty() && interest.subscribed_sessions.is_empty() {
            self.streams.remove(&stream_id);
        }
    }

    /// The last subscription to one session of `stream_id` went away.
    pub(crate) fn remove_subscription_by_session(&mut self, stream_id: i32, session_id: i32) {
        let Some(interest) = self.streams.get_mut(&stream_id) else {
            return;
        };
        if !interest.all_sessions {
            interest.images.remove(&session_id);
            interest.states.remove(&session_id);
        }
        interest.subscribed_sessions.remove(&session_id);
        if !interest.all_sessions && interest.subscribed_sessions.is_empty() {
            self.streams.remove(&stream_id);
        }
    }

    /// The conductor created the image for `session_id`.
    pub(crate) fn add_publication_image(&mut self, stream_id: i32, session_id: i32) {
        if let Some(interest) = self.streams.get_mut(&stream_id) {
            interest.states.remove(&session_id);
            interest.images.insert(session_id);
        }
    }

    /// The image went away: the session cools down until [`remove_cool_down`](Self::remove_cool_down).
    pub(crate) fn remove_publication_image(&mut self, stream_id: i32, session_id: i32) {
        if let Some(interest) = self.streams.get_mut(&stream_id) {
            if interest.images.remove(&session_id) {
                interest.states.insert(session_id, SessionState::CoolDown);
            }
        }
    }

    /// The conductor ends the cool down of a removed image, so the session may connect again.
    pub(crate) fn remove_cool_down(&mut self, stream_id: i32, session_id: i32) {
        if let Some(interest) = self.streams.get_mut(&stream_id) {
            if interest.states.get(&session_id) == Some(&SessionState::CoolDown) {
                interest.states.remove(&session_id);
            }
        }
    }

    /// The conductor did not create the image asked for (or the SETUP was refused): the session may ask again.
    pub(crate) fn remove_pending(&mut self, stream_id: i32, session_id: i32) {
        if let Some(interest) = self.streams.get_mut(&stream_id) {
            if matches!(
                interest.states.get(&session_id),
                Some(SessionState::InitInProgress | SessionState::PendingSetupFrame(_))
            ) {
                interest.states.remove(&session_id);
            }
        }
    }

    /// Routes a DATA/PAD datagram whose first header is `header`, received at `now_ns`.
    pub(crate) fn on_data(&mut self, header: &DataHeader, now_ns: i64) -> DataAction {
        let Some(interest) = self.streams.get_mut(&header.stream_id) else {
            return DataAction::Drop;
        };
        let session_id = header.session_id;
        if interest.images.contains(&session_id) {
            return DataAction::ToImage;
        }
        if header.is_eos() || interest.states.contains_key(&session_id) {
            return DataAction::Drop;
        }
        if !interest.wants(session_id) {
            interest.states.insert(session_id, SessionState::NoInterest);
            return DataAction::Drop;
        }
        interest
            .states
            .insert(session_id, SessionState::PendingSetupFrame(now_ns));
        DataAction::ElicitSetup(StatusMessage {
            flags: SEND_SETUP_FLAG,
            session_id,
            stream_id: header.stream_id,
            consumption_term_id: 0,
            consumption_term_offset: 0,
            receiver_window: 0,
            receiver_id: self.receiver_id,
            group_tag: self.group_tag,
        })
    }

    /// Routes a SETUP.
    pub(crate) fn on_setup(&mut self, setup: &Setup) -> SetupAction {
        let Some(interest) = self.streams.get_mut(&setup.stream_id) else {
            return SetupAction::Drop;
        };
        let session_id = setup.session_id;
        if interest.images.contains(&session_id) {
            return SetupAction::AddConnection;
        }
        let create = match interest.states.get(&session_id) {
            Some(SessionState::PendingSetupFrame(_)) => true,
            None if interest.wants(session_id) => true,
            None => {
                interest.states.insert(session_id, SessionState::NoInterest);
                false
            }
            Some(_) => false,
        };
        if create {
            interest
                .states
                .insert(session_id, SessionState::InitInProgress);
            SetupAction::CreateImage
        } else {
            SetupAction::Drop
        }
    }

    /// Receiver duty: forgets SETUP requests older than [`PENDING_SETUP_TIMEOUT_NS`] so that data may ask
    /// again. Returns how many were forgotten.
    pub(crate) fn check_pending_setups(&mut self, now_ns: i64) -> usize {
        let mut expired = 0;
        for interest in self.streams.values_mut() {
            interest.states.retain(|_, s| match *s {
                SessionState::PendingSetupFrame(t) if now_ns > t + PENDING_SETUP_TIMEOUT_NS => {
                    expired += 1;
                    false
                }
                _ => true,
            });
        }
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxeron_protocol::frame::data::{EOS_FLAG, UNFRAGMENTED};
    use oxeron_protocol::frame::HDR_TYPE_DATA;

    fn data(stream_id: i32, session_id: i32, flags: u8) -> DataHeader {
        DataHeader {
            frame_length: 64,
            flags,
            frame_type: HDR_TYPE_DATA,
            term_offset: 0,
            session_id,
            stream_id,
            term_id: 1,
            reserved_value: 0,
        }
    }

    fn setup(stream_id: i32, session_id: i32) -> Setup {
        Setup {
            session_id,
            stream_id,
            term_length: 65536,
            mtu: 1408,
            ..Setup::default()
        }
    }

    #[test]
    fn setup_creates_an_image_once_and_data_goes_to_it() {
        let mut d = DataPacketDispatcher::new(7, None);
        assert_eq!(
            d.on_setup(&setup(10, 1)),
            SetupAction::Drop,
            "no subscription"
        );
        d.add_subscription(10);
        assert_eq!(d.on_setup(&setup(10, 1)), SetupAction::CreateImage);
        assert_eq!(
            d.on_setup(&setup(10, 1)),
            SetupAction::Drop,
            "init in progress"
        );
        assert_eq!(d.on_data(&data(10, 1, UNFRAGMENTED), 0), DataAction::Drop);
        d.add_publication_image(10, 1);
        assert_eq!(
            d.on_data(&data(10, 1, UNFRAGMENTED), 0),
            DataAction::ToImage
        );
        assert_eq!(d.on_setup(&setup(10, 1)), SetupAction::AddConnection);
        assert_eq!(d.on_data(&data(11, 1, UNFRAGMENTED), 0), DataAction::Drop);
    }

    #[test]
    fn data_from_an_unknown_session_elicits_one_setup_per_second() {
        let mut d = DataPacketDispatcher::new(7, Some(3));
        d.add_subscription(10);
        let DataAction::ElicitSetup(sm) = d.on_data(&data(10, 2, UNFRAGMENTED), 100) else {
            panic!()
        };
        assert_eq!(
            sm,
            StatusMessage {
                flags: SEND_SETUP_FLAG,
                session_id: 2,
                stream_id: 10,
                consumption_term_id: 0,
                consumption_term_offset: 0,
                receiver_window: 0,
                receiver_id: 7,
                group_tag: Some(3),
            }
        );
        assert_eq!(d.on_data(&data(10, 2, UNFRAGMENTED), 200), DataAction::Drop);
        assert_eq!(d.check_pending_setups(100 + PENDING_SETUP_TIMEOUT_NS), 0);
        assert_eq!(d.check_pending_setups(101 + PENDING_SETUP_TIMEOUT_NS), 1);
        assert!(matches!(
            d.on_data(&data(10, 2, UNFRAGMENTED), 300),
            DataAction::ElicitSetup(_)
        ));
        // The elicited SETUP creates the image.
        assert_eq!(d.on_setup(&setup(10, 2)), SetupAction::CreateImage);
        // EOS data never elicits.
        assert_eq!(
            d.on_data(&data(10, 5, UNFRAGMENTED | EOS_FLAG), 0),
            DataAction::Drop
        );
    }

    #[test]
    fn session_subscriptions_and_cool_down() {
        let mut d = DataPacketDispatcher::new(7, None);
        d.add_subscription_by_session(10, 4);
        assert_eq!(d.on_data(&data(10, 5, UNFRAGMENTED), 0), DataAction::Drop);
        assert_eq!(d.on_setup(&setup(10, 5)), SetupAction::Drop);
        assert_eq!(d.on_setup(&setup(10, 4)), SetupAction::CreateImage);
        d.add_publication_image(10, 4);
        d.remove_publication_image(10, 4);
        assert_eq!(d.on_setup(&setup(10, 4)), SetupAction::Drop, "cooling down");
        assert_eq!(d.on_data(&data(10, 4, UNFRAGMENTED), 0), DataAction::Drop);
        d.remove_cool_down(10, 4);
        assert_eq!(d.on_setup(&setup(10, 4)), SetupAction::CreateImage);
        // An all-sessions subscription lifts the no-interest marks.
        d.add_subscription(10);
        assert_eq!(d.on_setup(&setup(10, 5)), SetupAction::CreateImage);
        d.remove_subscription_by_session(10, 4);
        d.remove_subscription(10);
        assert_eq!(d.on_setup(&setup(10, 5)), SetupAction::Drop);
    }
}
