//! What every command shares with its caller: ids typed as arguments, input from a file or
//! stdin, JSON on stdout for scripts, and messages on stderr for people.

use std::io::Read;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;
use vintrova_core::text;

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

/// All of stdin as text, through the edge's one text rule (the server's forms and JSON pass
/// the same); `what` names it in a refusal, which never repeats the text.
pub fn stdin_text(what: &str) -> Result<String> {
    let bytes = read_stdin()?;
    let text = text::check_bytes(text::ANY_TEXT, &bytes)
        .map_err(|refused| format!("the {what} on stdin {refused}"))?;
    Ok(text.to_string())
}

/// A JSON document read as the server reads its bodies — strict about keys, every text
/// checked — then shaped as `T`; `shape` tells the user what was expected.
pub fn json_input<T: DeserializeOwned>(bytes: &[u8], what: &str, shape: &str) -> Result<T> {
    let value = text::json(bytes)?;
    Ok(serde_json::from_value(value)
        .map_err(|_| format!("the {what} is not in the expected shape: {shape}"))?)
}

/// Every argument passes the edge's one text rule before clap or a command sees it: one line,
/// printable, no invisible or direction-changing characters. The refusal names the argument's
/// position, not its text.
pub fn check_arguments() -> std::result::Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    for (i, arg) in std::env::args_os().enumerate().skip(1) {
        if let Err(refused) = text::check_bytes(text::Rule::line(4096), arg.as_bytes()) {
            return Err(format!("argument {i} {refused}"));
        }
    }
    Ok(())
}
