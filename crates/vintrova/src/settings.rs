//! One configuration file (issue 23): everything flags and environment variables set, in TOML,
//! merged in the usual order — built-in defaults < the file < the environment < flags — with
//! `figment`. The file is `--config`, `VINTROVA_CONFIG`, or `DATA_DIR/vintrova.toml` when there
//! is one. A secret (the database URL, the SMTP URL) may be written as `{ file = "/path" }` and
//! is then read from that file, so the TOML itself can be shared. A key the file does not know,
//! or a value of the wrong kind, is refused with its path.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::cli::{Cli, Command, ServeArgs};
use crate::setup::Result;

/// The file looked for in the data directory when none is named.
pub const FILE_NAME: &str = "vintrova.toml";

/// Every setting; each is absent until a layer gives it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calendar: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_head: Option<PathBuf>,
    /// Shared by every server of one database (see "Running several servers").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erasure_journal: Option<PathBuf>,
    pub database: Database,
    pub server: Server,
    pub witnesses: Witnesses,
    pub smtp: Smtp,
    pub imap: Imap,
    pub webhooks: Webhooks,
}

/// The data protection service's mailbox, read as an intake of rights requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Imap {
    /// `imaps://user:password@host:993/INBOX`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<Secret>,
    /// A private certificate authority the mail server's certificate is signed by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Webhooks {
    /// Seconds a receiver may take to answer (1–120).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Database {
    /// `sqlite://…` or `postgres://…`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<Secret>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub behind_tls_proxy: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted_proxies: Option<Vec<IpAddr>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_country: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Witnesses {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Smtp {
    /// `smtp://…`, `smtps://…` with the account in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<Secret>,
}

/// A secret written in the file, or the path of a file that holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Secret {
    Value(String),
    File { file: PathBuf },
}

impl Secret {
    /// The secret itself, read from its file when it is kept in one (trailing newline dropped).
    pub fn reveal(&self, key: &str) -> Result<String> {
        match self {
            Secret::Value(value) => Ok(value.clone()),
            Secret::File { file } => std::fs::read_to_string(file)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|e| format!("{key}: cannot read {}: {e}", file.display()).into()),
        }
    }

    /// How `config check` shows it: never the secret, only where it is.
    fn masked(&self) -> Secret {
        match self {
            Secret::Value(_) => Secret::Value("********".into()),
            file @ Secret::File { .. } => file.clone(),
        }
    }
}

/// The settings the command line and the environment gave (each layer by itself), and the
/// file named, if any.
pub struct Given {
    defaults: Settings,
    environment: Settings,
    flags: Settings,
    file: Option<PathBuf>,
}

impl Given {
    /// Sort what clap read by where each value came from.
    pub fn of(cli: &Cli, matches: &ArgMatches) -> Given {
        // Another command (`config check`) reads the server's settings from the environment
        // and defaults alone, as `serve` would with no flags.
        let environment_only = match &cli.command {
            Command::Serve(_) => None,
            _ => Cli::command()
                .try_get_matches_from(["vintrova", "serve"])
                .ok()
                .and_then(|m| m.subcommand_matches("serve").cloned())
                .and_then(|m| Some((ServeArgs::from_arg_matches(&m).ok()?, m))),
        };
        let serve = match (&cli.command, &environment_only) {
            (Command::Serve(args), _) => matches.subcommand_matches("serve").map(|m| (args, m)),
            (_, Some((args, m))) => Some((args, m)),
            _ => None,
        };
        // A global flag given after the subcommand is seen there (clap carries it down).
        let source = |id: &str| {
            matches
                .subcommand()
                .and_then(|(_, sub)| sub.value_source(id))
                .or_else(|| matches.value_source(id))
        };
        let mut layers = [
            Settings::default(),
            Settings::default(),
            Settings::default(),
        ];
        let mut put = |from: Option<ValueSource>, set: &dyn Fn(&mut Settings)| {
            let layer = match from {
                Some(ValueSource::DefaultValue) => 0,
                Some(ValueSource::EnvVariable) => 1,
                Some(ValueSource::CommandLine) => 2,
                _ => return,
            };
            set(&mut layers[layer]);
        };
        put(source("data_dir"), &|s| {
            s.data_dir = Some(cli.data_dir.clone())
        });
        put(source("database_url"), &|s| {
            s.database.url = cli.database_url.clone().map(Secret::Value)
        });
        put(source("policy"), &|s| s.policy = cli.policy.clone());
        put(source("calendar"), &|s| s.calendar = cli.calendar.clone());
        put(source("audit_head"), &|s| {
            s.audit_head = cli.audit_head.clone()
        });
        put(source("erasure_journal"), &|s| {
            s.erasure_journal = cli.erasure_journal.clone()
        });
        if let Some((args, m)) = serve {
            let from = |id: &str| m.value_source(id);
            put(from("listen"), &|s| {
                s.server.listen = Some(args.listen.clone())
            });
            put(from("tls_cert"), &|s| {
                s.server.tls_cert = args.tls_cert.clone()
            });
            put(from("tls_key"), &|s| {
                s.server.tls_key = args.tls_key.clone()
            });
            put(from("behind_tls_proxy"), &|s| {
                s.server.behind_tls_proxy = Some(args.behind_tls_proxy)
            });
            put(from("trusted_proxies"), &|s| {
                s.server.trusted_proxies = Some(args.trusted_proxies.clone())
            });
            put(from("public_url"), &|s| {
                s.server.public_url = args.public_url.clone()
            });
            put(from("storage_country"), &|s| {
                s.server.storage_country = Some(args.storage_country.clone())
            });
            put(from("witness_dir"), &|s| {
                s.witnesses.dir = args.witness_dir.clone()
            });
            put(from("witness_mail"), &|s| {
                s.witnesses.mail = Some(args.witness_mail)
            });
            put(from("webhook_timeout"), &|s| {
                s.webhooks.timeout_seconds = Some(args.webhook_timeout)
            });
        }
        // The mail servers have no flag: their variables are read here, as the other layers are.
        if let Ok(url) = std::env::var("VINTROVA_SMTP_URL")
            && !url.is_empty()
        {
            layers[1].smtp.url = Some(Secret::Value(url));
        }
        if let Ok(url) = std::env::var("VINTROVA_IMAP_URL")
            && !url.is_empty()
        {
            layers[1].imap.url = Some(Secret::Value(url));
        }
        let [defaults, environment, flags] = layers;
        Given {
            defaults,
            environment,
            flags,
            file: cli.config.clone(),
        }
    }

    /// The file to read: the one named, else `vintrova.toml` in the data directory the other
    /// layers point at, when it exists.
    fn file(&self) -> Option<(PathBuf, bool)> {
        if let Some(named) = &self.file {
            return Some((named.clone(), true));
        }
        let dir = [&self.flags, &self.environment, &self.defaults]
            .iter()
            .find_map(|s| s.data_dir.clone())?;
        let found = dir.join(FILE_NAME);
        found.exists().then_some((found, false))
    }

    /// The settings in force: defaults < file < environment < flags.
    pub fn merge(&self) -> Result<(Settings, Option<PathBuf>)> {
        let file = self.file();
        let mut figment = Figment::from(Serialized::defaults(&self.defaults));
        if let Some((path, named)) = &file {
            if *named && !path.exists() {
                return Err(format!(
                    "the configuration file {} does not exist (--config / VINTROVA_CONFIG)",
                    path.display()
                )
                .into());
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let settings = figment
            .merge(Serialized::defaults(&self.environment))
            .merge(Serialized::defaults(&self.flags))
            .extract::<Settings>()
            .map_err(|e| refused(&e))?;
        Ok((settings, file.map(|(path, _)| path)))
    }
}

/// Figment's errors, each said with the key it is about.
fn refused(e: &figment::Error) -> Box<dyn std::error::Error + Send + Sync> {
    let lines: Vec<String> = e
        .clone()
        .into_iter()
        .map(|one| {
            let key = one.path.join(".");
            let place = one
                .metadata
                .as_ref()
                .and_then(|m| m.source.as_ref())
                .map(|s| format!(" (in {s})"))
                .unwrap_or_default();
            match key.is_empty() {
                true => format!("configuration: {}{place}", one.kind),
                false => format!("configuration key `{key}`: {}{place}", one.kind),
            }
        })
        .collect();
    lines.join("\n").into()
}

impl Settings {
    /// Put the settings in force into what the commands read.
    pub fn apply(&self, cli: &mut Cli) -> Result<()> {
        if let Some(dir) = &self.data_dir {
            cli.data_dir = dir.clone();
        }
        cli.database_url = self
            .database
            .url
            .as_ref()
            .map(|s| s.reveal("database.url"))
            .transpose()?;
        cli.policy = self.policy.clone();
        cli.calendar = self.calendar.clone();
        cli.audit_head = self.audit_head.clone();
        cli.erasure_journal = self.erasure_journal.clone();
        if let Command::Serve(args) = &mut cli.command {
            self.server_args(args)?;
        }
        Ok(())
    }

    fn server_args(&self, args: &mut ServeArgs) -> Result<()> {
        let s = &self.server;
        if let Some(listen) = &s.listen {
            args.listen = listen.clone();
        }
        if s.tls_cert.is_some() != s.tls_key.is_some() {
            return Err("configuration keys `server.tls_cert` and `server.tls_key` go together: give both, or neither".into());
        }
        args.tls_cert = s.tls_cert.clone();
        args.tls_key = s.tls_key.clone();
        args.behind_tls_proxy = s.behind_tls_proxy.unwrap_or(false);
        args.trusted_proxies = s.trusted_proxies.clone().unwrap_or_default();
        args.public_url = s.public_url.clone();
        if let Some(country) = &s.storage_country {
            args.storage_country = country.clone();
        }
        args.witness_dir = self.witnesses.dir.clone();
        args.witness_mail = self.witnesses.mail.unwrap_or(false);
        if let Some(seconds) = self.webhooks.timeout_seconds {
            args.webhook_timeout = seconds;
        }
        Ok(())
    }

    /// The mail servers in force, their URLs read from their files when kept in them.
    pub fn mail(&self) -> Result<crate::setup::Mail> {
        Ok(crate::setup::Mail {
            smtp_url: self
                .smtp
                .url
                .as_ref()
                .map(|s| s.reveal("smtp.url"))
                .transpose()?,
            imap_url: self
                .imap
                .url
                .as_ref()
                .map(|s| s.reveal("imap.url"))
                .transpose()?,
            imap_ca: self.imap.ca_file.clone(),
        })
    }

    /// What `config check` finds wrong, each with its key: files that are not there, secrets
    /// that cannot be read, an address that does not parse, a database URL of no known kind.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = vec![];
        let mut file = |key: &str, path: &Option<PathBuf>, dir: bool| {
            if let Some(path) = path
                && !(if dir { path.is_dir() } else { path.is_file() })
            {
                let what = if dir { "directory" } else { "file" };
                problems.push(format!("`{key}`: no such {what}: {}", path.display()));
            }
        };
        file("policy", &self.policy, false);
        file("calendar", &self.calendar, false);
        file("server.tls_cert", &self.server.tls_cert, false);
        file("server.tls_key", &self.server.tls_key, false);
        file("witnesses.dir", &self.witnesses.dir, true);
        file("imap.ca_file", &self.imap.ca_file, false);
        // Files made at first use: the directory they go in must be there.
        for (key, path) in [
            ("audit_head", &self.audit_head),
            ("erasure_journal", &self.erasure_journal),
        ] {
            if let Some(dir) = path.as_ref().and_then(|p| p.parent())
                && !dir.as_os_str().is_empty()
                && !dir.is_dir()
            {
                problems.push(format!("`{key}`: no such directory: {}", dir.display()));
            }
        }
        for (key, secret) in [
            ("database.url", &self.database.url),
            ("smtp.url", &self.smtp.url),
            ("imap.url", &self.imap.url),
        ] {
            match secret.as_ref().map(|s| s.reveal(key)) {
                Some(Err(e)) => problems.push(format!("`{key}`: {e}")),
                Some(Ok(url)) if key == "database.url" && !known_database(&url) => problems
                    .push("`database.url`: neither `sqlite://…` nor `postgres://…`".to_string()),
                _ => {}
            }
        }
        if let Some(seconds) = self.webhooks.timeout_seconds
            && !(1..=120).contains(&seconds)
        {
            problems.push(format!(
                "`webhooks.timeout_seconds`: {seconds} is not between 1 and 120"
            ));
        }
        if let Some(listen) = &self.server.listen
            && listen.parse::<std::net::SocketAddr>().is_err()
        {
            problems.push(format!(
                "`server.listen`: `{listen}` is not an address and port such as 127.0.0.1:8080"
            ));
        }
        problems
    }

    /// The settings as TOML, every secret written in the file masked.
    pub fn shown(&self) -> String {
        let mut masked = self.clone();
        masked.database.url = masked.database.url.as_ref().map(Secret::masked);
        masked.smtp.url = masked.smtp.url.as_ref().map(Secret::masked);
        masked.imap.url = masked.imap.url.as_ref().map(Secret::masked);
        toml::to_string(&masked).unwrap_or_else(|e| format!("# cannot show the settings: {e}\n"))
    }
}

fn known_database(url: &str) -> bool {
    ["sqlite:", "postgres://", "postgresql://"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
}

/// `vintrova config check`: the settings in force and every problem with its key; fails when
/// there is one.
pub fn check(settings: &Settings, file: Option<&Path>) -> Result<()> {
    match file {
        Some(file) => say!(
            "# Settings in force, read from {} and the environment and flags.",
            file.display()
        ),
        None => {
            say!("# Settings in force (no configuration file: defaults, environment and flags).")
        }
    }
    print!("{}", settings.shown());
    let problems = settings.problems();
    if problems.is_empty() {
        say!("Configuration is valid.");
        return Ok(());
    }
    for problem in &problems {
        say!("problem: {problem}");
    }
    Err(format!("{} problem(s) in the configuration", problems.len()).into())
}
