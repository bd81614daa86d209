//! Whether and when a notification is sent again: the delivery rules of
//! docs/notifications.md ("Delivery"), as pure functions.
//!
//! Owns [`Delivery`] (timeouts, attempts, backoff, queue size), the
//! judgement of one attempt's [`Outcome`] ([`next`]) and `Retry-After`
//! ([`retry_after`]). Must not send, sleep or read the clock: the caller
//! passes the time and the jitter in.

use std::time::{Duration, SystemTime};

/// How notifications are delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// How long one request may take (connect, TLS, answer).
    pub timeout: Duration,
    /// Attempts per notification, the first included.
    pub attempts: u32,
    /// The delay before the second attempt; it doubles after each.
    pub base: Duration,
    /// The longest delay between two attempts (backoff and `Retry-After`).
    pub max_delay: Duration,
    /// Notifications waiting per receiver; when full, the oldest is dropped.
    pub queue: usize,
    /// At the end of a run, how long queued notifications still get.
    pub grace: Duration,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            timeout: Duration::from_secs(10),
            attempts: 5,
            base: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            queue: 100,
            grace: Duration::from_secs(5),
        }
    }
}

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered with this HTTP status.
    Answered {
        /// The status code.
        code: u16,
        /// Its `Retry-After`, when it gave one.
        retry_after: Option<Duration>,
    },
    /// No answer within [`Delivery::timeout`].
    Timeout,
    /// No connection (refused, DNS, TLS): the reason.
    Unreachable(String),
}

/// What to do after an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Delivered.
    Sent,
    /// Try again after this long.
    Retry(Duration),
    /// Give up: why, for the log.
    Failed(String),
}

/// What to do after attempt number `attempt` (from 1) came to `outcome`.
/// 2xx is sent; 408, 429, 5xx, a timeout and no connection are tried
/// again (after `Retry-After` when given, else exponential backoff with
/// `jitter` in [0, 1): half the delay fixed, half random) until
/// [`Delivery::attempts`]; any other answer is final.
pub fn next(outcome: &Outcome, attempt: u32, cfg: &Delivery, jitter: f64) -> Next {
    let (retryable, why, asked) = match outcome {
        Outcome::Answered { code, .. } if (200..300).contains(code) => return Next::Sent,
        Outcome::Answered { code, retry_after } => (
            *code == 408 || *code == 429 || (500..600).contains(code),
            format!("HTTP {code}"),
            *retry_after,
        ),
        Outcome::Timeout => (
            true,
            format!("no answer within {} s", cfg.timeout.as_secs()),
            None,
        ),
        Outcome::Unreachable(e) => (true, format!("cannot connect: {e}"), None),
    };
    if !retryable {
        let hint = match outcome {
            Outcome::Answered { code, .. } if (300..400).contains(code) => {
                " (redirects are not followed: give the final URL)"
            }
            Outcome::Answered {
                code: 401 | 403, ..
            } => " (check the token in secretEnv or the headers' variables)",
            Outcome::Answered { code: 404, .. } => " (check the URL: the webhook may be deleted)",
            _ => "",
        };
        return Next::Failed(format!("{why}{hint}; not retried"));
    }
    if attempt >= cfg.attempts {
        return Next::Failed(format!("{why}; gave up after {attempt} attempts"));
    }
    let delay = match asked {
        Some(d) => d.min(cfg.max_delay),
        None => backoff(attempt, cfg, jitter),
    };
    Next::Retry(delay)
}

/// The delay after attempt `attempt`: `base * 2^(attempt-1)`, at most
/// `max_delay`, of which the second half is scaled by `jitter`.
pub fn backoff(attempt: u32, cfg: &Delivery, jitter: f64) -> Duration {
    let exp = 2u32.saturating_pow(attempt.saturating_sub(1));
    let full = cfg.base.saturating_mul(exp).min(cfg.max_delay);
    full / 2 + full.div_f64(2.0).mul_f64(jitter.clamp(0.0, 1.0))
}

/// A `Retry-After` value (seconds, or an HTTP date) as a delay from `now`.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(code: u16) -> Outcome {
        Outcome::Answered {
            code,
            retry_after: None,
        }
    }

    #[test]
    fn success_is_sent_and_client_errors_are_final() {
        let cfg = Delivery::default();
        assert_eq!(next(&answered(204), 1, &cfg, 0.5), Next::Sent);
        for (code, says) in [
            (400, "HTTP 400; not retried"),
            (404, "webhook may be deleted"),
            (403, "secretEnv"),
            (301, "redirects are not followed"),
        ] {
            match next(&answered(code), 1, &cfg, 0.5) {
                Next::Failed(why) => assert!(why.contains(says), "{code}: {why}"),
                other => panic!("{code}: {other:?}"),
            }
        }
    }

    #[test]
    fn server_errors_timeouts_and_429_are_retried_with_backoff() {
        let cfg = Delivery::default();
        for o in [
            answered(500),
            answered(503),
            answered(429),
            answered(408),
            Outcome::Timeout,
            Outcome::Unreachable("connection refused".into()),
        ] {
            assert_eq!(
                next(&o, 1, &cfg, 0.0),
                Next::Retry(Duration::from_millis(500))
            );
            assert_eq!(next(&o, 3, &cfg, 1.0), Next::Retry(Duration::from_secs(4)));
            match next(&o, cfg.attempts, &cfg, 0.0) {
                Next::Failed(why) => assert!(why.contains("gave up after 5 attempts"), "{why}"),
                other => panic!("{o:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_stays_inside() {
        let cfg = Delivery::default();
        let full = |a| backoff(a, &cfg, 1.0);
        assert_eq!(full(1), Duration::from_secs(1));
        assert_eq!(full(2), Duration::from_secs(2));
        assert_eq!(full(7), Duration::from_secs(60));
        assert_eq!(full(40), Duration::from_secs(60));
        for j in [0.0, 0.3, 0.99] {
            let d = backoff(4, &cfg, j);
            assert!(
                d >= Duration::from_secs(4) && d <= Duration::from_secs(8),
                "{d:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let cfg = Delivery::default();
        let o = Outcome::Answered {
            code: 429,
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(next(&o, 1, &cfg, 0.0), Next::Retry(Duration::from_secs(7)));
        let o = Outcome::Answered {
            code: 503,
            retry_after: Some(Duration::from_secs(3600)),
        };
        assert_eq!(next(&o, 1, &cfg, 0.0), Next::Retry(cfg.max_delay));
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
