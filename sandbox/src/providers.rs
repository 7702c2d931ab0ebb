//! The simulated SMS providers: what each carries and how fast it delivers.
//!
//! Nothing leaves the machine. Each provider moves a message from `sending` to `sent` to
//! `delivered` after its own multiple of the configured delivery delay, and some refuse MMS.

use std::time::Duration;

/// A recipient that always fails, to try failure handling: the carrier rejects it.
pub const FAILING_NUMBER: &str = "+12025550199";

#[derive(Debug, Clone, Copy)]
pub(crate) struct ProviderBehaviour {
    pub name: &'static str,
    pub carries_mms: bool,
    /// Multiplies the configured delivery delay: some providers are slower than others.
    pub speed_factor: f64,
    /// A prefix for the provider-side message id, as the real providers' ids look.
    pub id_prefix: &'static str,
}

pub(crate) const PROVIDERS: [ProviderBehaviour; 9] = [
    ProviderBehaviour { name: "twilio", carries_mms: true, speed_factor: 1.0, id_prefix: "SM" },
    ProviderBehaviour { name: "bandwidth", carries_mms: true, speed_factor: 1.5, id_prefix: "bw-" },
    ProviderBehaviour { name: "telnyx", carries_mms: true, speed_factor: 0.5, id_prefix: "tx-" },
    ProviderBehaviour { name: "whatsapp", carries_mms: true, speed_factor: 1.0, id_prefix: "wamid." },
    ProviderBehaviour { name: "rcs", carries_mms: true, speed_factor: 1.0, id_prefix: "rcs-" },
    ProviderBehaviour { name: "msteams", carries_mms: false, speed_factor: 0.5, id_prefix: "teams-" },
    ProviderBehaviour { name: "webex", carries_mms: false, speed_factor: 0.5, id_prefix: "webex-" },
    ProviderBehaviour { name: "non_voip", carries_mms: false, speed_factor: 2.0, id_prefix: "nv-" },
    ProviderBehaviour { name: "other", carries_mms: false, speed_factor: 2.0, id_prefix: "ot-" },
];

pub(crate) const PROVIDER_NAMES: [&str; 9] = ["twilio", "bandwidth", "msteams", "other", "non_voip", "whatsapp", "telnyx", "webex", "rcs"];

pub(crate) fn behaviour(name: &str) -> Option<ProviderBehaviour> {
    PROVIDERS.iter().copied().find(|provider| provider.name == name)
}

impl ProviderBehaviour {
    /// How long after creation the message is `sent`, and then `delivered` (or `failed`).
    pub(crate) fn timeline(&self, delivery_delay: Duration) -> (Duration, Duration) {
        let step = delivery_delay.mul_f64(self.speed_factor);
        (step, step * 2)
    }

    /// Why this provider refuses a message, if it does.
    pub(crate) fn refusal(&self, media_urls: &[String]) -> Option<String> {
        (!self.carries_mms && !media_urls.is_empty()).then(|| {
            format!(
                "provider {} does not carry MMS; remove mediaUrls or send through one of: twilio, bandwidth, telnyx, whatsapp, rcs",
                self.name
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_provider_is_simulated() {
        for name in PROVIDER_NAMES {
            assert!(behaviour(name).is_some(), "{name}");
        }
    }

    #[test]
    fn providers_without_mms_say_so() {
        let refusal = behaviour("non_voip").unwrap().refusal(&["https://x.example/a.jpg".to_owned()]).unwrap();
        assert!(refusal.contains("does not carry MMS"), "{refusal}");
        assert!(behaviour("twilio").unwrap().refusal(&["https://x.example/a.jpg".to_owned()]).is_none());
    }
}
