//! How a command ended, and how that is written on the error stream: a JSON
//! `metav1.Status` for v4 and later, plain text for failures before.

use bytes::Bytes;
use serde::Serialize;

use super::names::RemoteCommandProtocol;

/// The `reason` of a status for a command that exited non-zero.
pub const NON_ZERO_EXIT_CODE_REASON: &str = "NonZeroExitCode";
/// The cause type that carries the exit code.
pub const EXIT_CODE_CAUSE_TYPE: &str = "ExitCode";

/// How a command (or an attach) ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// The command exited with this code; 0 is success. Codes are 0-255
    /// (kubectl refuses others); a command killed by signal N is usually
    /// reported as 128 + N, as shells do.
    Exited(i32),
    /// The command could not be run, or failed in another way: reported as
    /// an internal error with this message.
    Failed(String),
}

impl ExitStatus {
    /// Success.
    pub const SUCCESS: ExitStatus = ExitStatus::Exited(0);

    /// True for exit code 0.
    pub fn is_success(&self) -> bool {
        matches!(self, ExitStatus::Exited(0))
    }
}

#[derive(Serialize)]
struct Status<'a> {
    metadata: Empty,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Details>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<u16>,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct Details {
    causes: Vec<Cause>,
}

#[derive(Serialize)]
struct Cause {
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    message: String,
}

impl ExitStatus {
    /// The message a client shows for a failure; `None` for success.
    pub fn message(&self) -> Option<String> {
        match self {
            ExitStatus::Exited(0) => None,
            ExitStatus::Exited(code) => Some(format!(
                "command terminated with non-zero exit code: exit status {code}"
            )),
            ExitStatus::Failed(why) => Some(format!("Internal error occurred: {why}")),
        }
    }

    /// The `metav1.Status` JSON of v4 and later, as the kubelet writes it.
    pub fn to_status_json(&self) -> Bytes {
        let status = match self {
            ExitStatus::Exited(0) => Status {
                metadata: Empty {},
                status: "Success",
                message: None,
                reason: None,
                details: None,
                code: None,
            },
            ExitStatus::Exited(code) => Status {
                metadata: Empty {},
                status: "Failure",
                message: self.message(),
                reason: Some(NON_ZERO_EXIT_CODE_REASON),
                details: Some(Details {
                    causes: vec![Cause {
                        reason: Some(EXIT_CODE_CAUSE_TYPE),
                        message: code.to_string(),
                    }],
                }),
                code: None,
            },
            ExitStatus::Failed(why) => Status {
                metadata: Empty {},
                status: "Failure",
                message: self.message(),
                reason: Some("InternalError"),
                details: Some(Details {
                    causes: vec![Cause {
                        reason: None,
                        message: why.clone(),
                    }],
                }),
                code: Some(500),
            },
        };
        // Serializing these plain structs cannot fail.
        serde_json::to_vec(&status).map_or_else(|_| Bytes::new(), Bytes::from)
    }

    /// What goes on the error stream under `protocol`: the JSON status for
    /// v4+, the failure message as text before (nothing for success).
    pub fn encode(&self, protocol: RemoteCommandProtocol) -> Option<Bytes> {
        if protocol.status_is_json() {
            Some(self.to_status_json())
        } else {
            self.message().map(Bytes::from)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_match_what_the_kubelet_writes() {
        assert_eq!(
            ExitStatus::SUCCESS.to_status_json(),
            r#"{"metadata":{},"status":"Success"}"#
        );
        assert_eq!(
            ExitStatus::Exited(3).to_status_json(),
            concat!(
                r#"{"metadata":{},"status":"Failure","#,
                r#""message":"command terminated with non-zero exit code: exit status 3","#,
                r#""reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
            )
        );
        assert_eq!(
            ExitStatus::Failed("no such file".into()).to_status_json(),
            concat!(
                r#"{"metadata":{},"status":"Failure","message":"Internal error occurred: no such file","#,
                r#""reason":"InternalError","details":{"causes":[{"message":"no such file"}]},"code":500}"#
            )
        );
    }

    #[test]
    fn older_protocols_write_text_and_nothing_on_success() {
        assert_eq!(ExitStatus::SUCCESS.encode(RemoteCommandProtocol::V2), None);
        assert_eq!(
            ExitStatus::Exited(2)
                .encode(RemoteCommandProtocol::V3)
                .unwrap(),
            "command terminated with non-zero exit code: exit status 2"
        );
        assert!(
            ExitStatus::SUCCESS
                .encode(RemoteCommandProtocol::V5)
                .unwrap()
                .starts_with(b"{")
        );
    }
}
