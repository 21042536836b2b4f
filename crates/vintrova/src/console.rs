//! What every command shares with its caller: ids typed as arguments, input from a file or
//! stdin, JSON on stdout for scripts, and messages on stderr for people.

use std::io::Read;
use std::path::Path;

use serde::Serialize;
use uuid::Uuid;

use crate::setup::Result;

/// A message for people on stderr. Unlike `eprintln!`, a closed stderr (a daemon started
/// without one) loses the message instead of stopping the process.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub fn print_json(value: &impl Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn subject_id(raw: &str) -> Result<Uuid> {
    raw.parse().map_err(|_| {
        format!("`{raw}` is not a subject id; expected a UUID as `subject add` prints").into()
    })
}

pub fn request_id(raw: &str) -> Result<Uuid> {
    raw.parse().map_err(|_| {
        format!("`{raw}` is not a request id; expected a UUID as `request add` prints (see `request list`)").into()
    })
}

/// The bytes of a file, or of stdin when the path is `-`.
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes)?;
    } else {
        bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    }
    Ok(bytes)
}

/// All of stdin: personal data comes this way, never as an argument.
pub fn read_stdin() -> Result<Vec<u8>> {
    read_input(Path::new("-"))
}

/// All of stdin as text; `what` names it when it is not UTF-8.
pub fn stdin_text(what: &str) -> Result<String> {
    Ok(String::from_utf8(read_stdin()?).map_err(|_| format!("the {what} is not UTF-8 text"))?)
}
