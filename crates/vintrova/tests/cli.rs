//! The CLI contract, checked from outside: the real binary, a real data directory.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use sqlx::{AssertSqlSafe, Row};
use vintrova_store_tests::{contains, read_tree, without_machine_text};

const BIN: &str = env!("CARGO_BIN_EXE_vintrova");

/// A person whose values are easy to find in any byte stream.
const SEED: &str = r#"{
  "contact": {"first_name": "Жансая", "last_name": "Қуанышбекова", "email": "zhansaya.kuanyshbekova@mail.kz", "phone": "+7 747 123 45 67"},
  "professional": {"employer": "ТОО «Алматы Нейросеть»", "position": "Аналитик данных", "it_experience_years": 3}
}"#;
const SEED_VALUES: &[&str] = &[
    "Жансая",
    "Қуанышбекова",
    "zhansaya.kuanyshbekova@mail.kz",
    "+77471234567",
    "7471234567",
    "Алматы Нейросеть",
    "Аналитик данных",
];

struct Install {
    dir: tempfile::TempDir,
    extra: Vec<String>,
}

/// The consents to data SEED's form asks for, ticked: contact data, the phone, the profile.
const FORM_CONSENTS: &[&str] = &[
    "--consent",
    "contact_data",
    "--consent",
    "phone_number",
    "--consent",
    "professional_profile",
];

impl Install {
    fn new() -> Self {
        Install {
            dir: tempfile::tempdir().unwrap(),
            extra: vec![],
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        self.run_with(args, stdin, &[])
    }

    fn run_with(&self, args: &[&str], stdin: Option<&[u8]>, envs: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.envs(envs.iter().copied());
        cmd.arg("--data-dir").arg(self.data());
        cmd.args(&self.extra).args(args);
        cmd.env_remove("VINTROVA_DATABASE_URL")
            .env("VINTROVA_LOG", "debug,sqlx=warn");
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("the binary runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.unwrap_or_default())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str], stdin: Option<&[u8]>) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_pd_free(&out.stderr, args);
        String::from_utf8(out.stdout).unwrap()
    }

    fn add(&self, json: &str) -> String {
        self.ok(
            &[
                &["subject", "add", "--json", "-", "--contract"],
                FORM_CONSENTS,
            ]
            .concat(),
            Some(json.as_bytes()),
        )
        .trim()
        .to_string()
    }

    fn audit_entries(&self) -> String {
        self.ok(&["audit", "verify"], None)
    }

    /// The person's full copy as the command line gives it: an access request by letter from
    /// the person, verified with the code mailed to their address, answered with
    /// `subject export --request`.
    fn copy(&self, id: &str) -> String {
        let request = self.verified_access_request(id);
        self.ok(&["subject", "export", id, "--request", &request], None)
    }

    /// The open access request of person `id`, verified (filed and verified first when there
    /// is none).
    fn verified_access_request(&self, id: &str) -> String {
        let sent_before = self.mails();
        let letter = serde_json::json!({"subject": id, "description": "Прошу копию моих данных"});
        let request: Value = serde_json::from_str(&self.ok(
            &["request", "add", "--right", "access"],
            Some(letter.to_string().as_bytes()),
        ))
        .unwrap();
        let id = request["id"].as_str().unwrap().to_string();
        if request["state"] != "verified" {
            self.ok(&["outbox", "deliver"], None);
            let code = self
                .mails()
                .difference(&sent_before)
                .find_map(|mail| code_in(&std::fs::read_to_string(mail).unwrap()))
                .expect("the code went to the address");
            self.ok(&["request", "verify", &id, "--code", &code], None);
        }
        id
    }

    fn mails(&self) -> std::collections::BTreeSet<PathBuf> {
        std::fs::read_dir(self.data().join("mail"))
            .map(|dir| dir.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    }
}

/// The six-digit code in a verification message the outbox wrote (its body is base64); `None`
/// for any other message.
fn code_in(eml: &str) -> Option<String> {
    use base64::Engine;
    let body: String = eml.split("\r\n\r\n").nth(1)?.split_whitespace().collect();
    let text = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .ok()?,
    )
    .ok()?;
    if !text.contains("Код для подтверждения запроса") {
        return None;
    }
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .map(str::to_string)
}

/// Logs and messages must never carry a seeded value.
fn assert_pd_free(bytes: &[u8], context: &[&str]) {
    for value in SEED_VALUES {
        assert!(
            !contains(bytes, value.as_bytes()),
            "{context:?} printed personal data to stderr"
        );
    }
}

fn stored_blobs(db: &Path, id: &str) -> Vec<Vec<u8>> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let mut out = Vec::new();
        for sql in [
            "SELECT sealed FROM pd_values WHERE subject_id = $1",
            "SELECT digest FROM blind_index WHERE subject_id = $1",
        ] {
            let id: uuid::Uuid = id.parse().unwrap();
            for row in sqlx::query(sql).bind(id).fetch_all(&pool).await.unwrap() {
                out.push(row.get::<Vec<u8>, _>(0));
            }
        }
        pool.close().await;
        out
    })
}

fn sql(db: &Path, statements: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::raw_sql(AssertSqlSafe(statements.to_string()))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    })
}

#[test]
fn first_start_creates_the_data_directory_and_a_private_master_key_with_a_warning() {
    let install = Install::new();
    let out = install.run(
        &[&["subject", "add", "--json", "-"], FORM_CONSENTS].concat(),
        Some(SEED.as_bytes()),
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let key = install.data().join("master.key");
    assert!(
        stderr.contains(&key.display().to_string()) && stderr.contains("Back it up"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(install.data())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    // The second start says nothing about a new key.
    let again = install.run(&["audit", "verify"], None);
    assert!(!String::from_utf8_lossy(&again.stderr).contains("created a new master key"));
}

#[test]
fn a_person_is_stored_encrypted_copied_and_erased_without_a_trace() {
    let install = Install::new();
    let id = install.add(SEED);
    let other =
        install.add(r#"{"contact": {"first_name": "Марат", "email": "marat.dpo@mail.kz"}}"#);
    let files = read_tree(&install.data());
    for value in SEED_VALUES {
        assert!(
            !contains(&files, value.as_bytes()),
            "a seeded value is stored in clear"
        );
    }

    // Without the person's verified request there is no copy.
    let unasked = install.run(&["subject", "export", &id], None);
    assert_eq!(unasked.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&unasked.stderr).contains("verified access request"),
        "{}",
        String::from_utf8_lossy(&unasked.stderr)
    );
    // The copy states each category's terms once, its values beneath (format 2).
    let export: Value = serde_json::from_str(&install.copy(&id)).unwrap();
    assert_eq!(export["format"], "vintrova.copy/2");
    let blocks = export["categories"].as_array().unwrap();
    let held: usize = blocks
        .iter()
        .flat_map(|b| b["entries"].as_array().unwrap())
        .map(|e| e["values"].as_object().unwrap().len())
        .sum();
    assert_eq!(
        held,
        7 + 1,
        "her seven values and her request's description"
    );
    let contact = blocks.iter().find(|b| b["category"] == "contact").unwrap();
    for key in ["purposes", "legal_basis", "retention"] {
        assert!(!contact[key].is_null(), "the category lacks `{key}`");
    }
    let entry = contact["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| !e["values"]["contact.phone"].is_null())
        .unwrap();
    assert_eq!(entry["values"]["contact.phone"], "+77471234567");
    for key in ["source", "collected_at"] {
        assert!(!entry[key].is_null(), "the entry lacks `{key}`");
    }
    // The earlier shape, every value with its category's terms, on request.
    let request = install.verified_access_request(&id);
    let per_value: Value = serde_json::from_str(&install.ok(
        &[
            "subject",
            "export",
            &id,
            "--request",
            &request,
            "--shape",
            "values",
        ],
        None,
    ))
    .unwrap();
    let values = per_value["values"].as_array().unwrap();
    assert_eq!(values.len(), 7 + 1);
    let phone = values
        .iter()
        .find(|v| v["field"] == "contact.phone")
        .unwrap();
    assert_eq!(phone["value"], "+77471234567");
    for key in [
        "category",
        "purposes",
        "legal_basis",
        "source",
        "collected_at",
        "retention",
    ] {
        assert!(!phone[key].is_null(), "the export lacks `{key}`");
    }

    let blobs = stored_blobs(&install.data().join("vintrova.db"), &id);
    assert_eq!(blobs.len(), 7 + 2);
    let receipt: Value =
        serde_json::from_str(&install.ok(&["subject", "erase", &id], None)).unwrap();
    assert_eq!(receipt["subject_removed"], true);
    let files = read_tree(&install.data());
    for blob in &blobs {
        assert!(
            !contains(&files, blob),
            "ciphertext or blind index of the erased person survives on disk"
        );
    }
    let out = install.run(&["subject", "export", &id], None);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown"));
    assert!(install.copy(&other).contains("marat.dpo@mail.kz"));
}

#[test]
fn a_subject_is_found_by_email_read_from_stdin() {
    let install = Install::new();
    let id = install.add(SEED);
    let found = install.ok(
        &["subject", "find", "--field", "contact.email"],
        Some(b"ZHANSAYA.Kuanyshbekova@mail.kz\n"),
    );
    assert!(found.contains(&id), "{found}");
    let shown = install.ok(
        &["subject", "show", &id, "--purpose", "personalization"],
        None,
    );
    assert!(
        shown.contains("Аналитик данных") && !shown.contains("zhansaya"),
        "{shown}"
    );
}

#[test]
fn bad_input_is_refused_by_name_and_nothing_changes() {
    let install = Install::new();
    let id = install.add(SEED);
    let before = install.copy(&id);
    let entries = install.audit_entries();
    let huge = format!(
        r#"{{"contact": {{"first_name": "{}"}}}}"#,
        "ж".repeat(1024 * 1024 / 2)
    );
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            r#"{"contact": {"nickname": "Жансая"}}"#.as_bytes().to_vec(),
            "contact.nickname: not a field of the data map",
        ),
        (
            r#"{"contact": {"email": "zhansaya at mail"}}"#.as_bytes().to_vec(),
            "contact.email: not an email address",
        ),
        (
            huge.into_bytes(),
            "contact.first_name: 524288 characters long",
        ),
        (
            b"{\"contact\": {\"first_name\": \"\xd0\"}}".to_vec(),
            "not valid UTF-8",
        ),
        (
            r#"{"contact": {"first_name": "Жансая", "phone": "not a phone"}}"#
                .as_bytes()
                .to_vec(),
            "contact.phone",
        ),
    ];
    for (input, expected) in cases {
        let out = install.run(&["subject", "add", "--json", "-"], Some(&input));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(expected),
            "expected `{expected}` in: {stderr}"
        );
        assert_pd_free(&out.stderr, &["subject", "add"]);
        assert!(!stderr.contains("жжжж"));
    }
    let export = |s: String| -> Value {
        let mut v: Value = serde_json::from_str(&s).unwrap();
        v.as_object_mut().unwrap().remove("exported_at");
        // Who looked grows by the first export itself; the data are what must not change.
        v.as_object_mut().unwrap().remove("accesses");
        v
    };
    assert_eq!(export(install.copy(&id)), export(before));
    let after = install.audit_entries();
    assert_ne!(entries, after, "the export itself is audited");
    assert!(
        after.contains("5 entries"),
        "create, request received and verified, export, export; nothing for the refused inputs: {after}"
    );
}

#[test]
fn audit_verify_names_the_first_tampered_entry() {
    for (tamper, expected) in [
        (
            "UPDATE audit_log SET action = 'read' WHERE seq = 2",
            "entry 2",
        ),
        ("DELETE FROM audit_log WHERE seq = 2", "entry 2"),
        ("DELETE FROM audit_log WHERE seq = 3", "entry 3"),
        (
            "UPDATE audit_log SET seq = -2 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = -2",
            "entry 2",
        ),
        (
            "INSERT INTO audit_log SELECT 4, at, actor, action, subject_id, categories, purpose, hash, hash, stated_purpose FROM audit_log WHERE seq = 3",
            "entry 4",
        ),
    ] {
        let install = Install::new();
        for _ in 0..3 {
            install.add(r#"{"contact": {"first_name": "Дана"}}"#);
        }
        assert!(install.audit_entries().contains("3 entries"));
        sql(&install.data().join("vintrova.db"), tamper);
        let out = install.run(&["audit", "verify"], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{tamper}: {stderr}");
        assert!(stderr.contains(expected), "{tamper}: {stderr}");
    }
}

/// A cut tail stops the command line as it stops the server: nothing personal is shown (exit 4)
/// until `audit accept` records what was found and why; then the log verifies again.
#[test]
fn a_cut_audit_tail_refuses_personal_data_until_audit_accept_records_it() {
    let install = Install::new();
    let id = install.add(SEED);
    for _ in 0..2 {
        install.ok(&["subject", "show", &id, "--purpose", "support"], None);
    }
    sql(
        &install.data().join("vintrova.db"),
        "DELETE FROM audit_log WHERE seq >= 2",
    );
    let out = install.run(&["subject", "show", &id, "--purpose", "support"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("audit accept"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Жансая"));
    assert_pd_free(&out.stderr, &["subject", "show"]);

    let refused = install.run(
        &[
            "audit",
            "accept",
            "--reason",
            "zhansaya.kuanyshbekova@mail.kz said so",
        ],
        None,
    );
    assert_eq!(
        refused.status.code(),
        Some(1),
        "a reason with personal data is refused"
    );
    let accepted = install.ok(
        &[
            "audit",
            "accept",
            "--reason",
            "restored the database from last night's snapshot",
        ],
        None,
    );
    assert!(
        accepted.contains("entry 1") && accepted.contains("entry 3"),
        "{accepted}"
    );
    assert!(
        install
            .ok(&["subject", "show", &id, "--purpose", "support"], None)
            .contains("Жансая")
    );
    assert!(
        install.audit_entries().contains("3 entries"),
        "create, accept, read"
    );
    let again = install.run(&["audit", "accept", "--reason", "again"], None);
    assert_eq!(again.status.code(), Some(1), "nothing left to accept");
}

/// Someone who can write the log, the key store and the head file together can roll all three
/// back to an earlier, validly signed state; a witness who kept a later head still catches it.
#[test]
fn a_rollback_of_log_anchor_and_head_together_is_caught_by_an_earlier_witness() {
    let install = Install::new();
    install.add(r#"{"contact": {"first_name": "Дана"}}"#);
    let head = install.data().join("audit-head");
    let older = std::fs::read(&head).unwrap();
    install.add(r#"{"contact": {"first_name": "Ерлан"}}"#);
    let witness = install.dir.path().join("witness-head");
    std::fs::write(&witness, install.ok(&["audit", "head"], None)).unwrap();
    let witness_arg = witness.to_str().unwrap();
    let out = install.ok(&["audit", "verify", "--witness", witness_arg], None);
    assert!(
        out.contains("2 entries") && out.contains("witnessed head"),
        "{out}"
    );

    // The rollback: entry 2 goes, the anchor and the head file go back to entry 1.
    let data = install.data().join("vintrova.db");
    sql(&data, "DELETE FROM audit_log WHERE seq = 2");
    sql(
        &install.data().join("keys.db"),
        &format!(
            "ATTACH DATABASE '{}' AS d; UPDATE chain_anchor SET seq = 1, hash = (SELECT hash FROM d.audit_log WHERE seq = 1) WHERE id = 1",
            data.display()
        ),
    );
    std::fs::write(&head, &older).unwrap();
    install.ok(&["audit", "verify"], None);
    let out = install.run(&["audit", "verify", "--witness", witness_arg], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("witness") && stderr.contains("entry 2"),
        "{stderr}"
    );

    // A witness's copy that this server did not sign proves nothing and is refused as such.
    let text = std::fs::read_to_string(&witness).unwrap();
    std::fs::write(&witness, text.replacen(" 2 ", " 9 ", 1)).unwrap();
    let out = install.run(&["audit", "verify", "--witness", witness_arg], None);
    assert_eq!(out.status.code(), Some(4));
}

/// Someone who can write every table — the log and the key store's anchor alike — still cannot
/// cut the newest entries off unseen: the signed head lives in a file outside the database.
#[test]
fn audit_verify_catches_the_end_cut_off_even_with_the_key_store_anchor_rewound() {
    let install = Install::new();
    for _ in 0..3 {
        install.add(r#"{"contact": {"first_name": "Дана"}}"#);
    }
    assert!(install.data().join("audit-head").exists());
    let data = install.data().join("vintrova.db");
    sql(&data, "DELETE FROM audit_log WHERE seq = 3");
    sql(
        &install.data().join("keys.db"),
        &format!(
            "ATTACH DATABASE '{}' AS d; UPDATE chain_anchor SET seq = 2, hash = (SELECT hash FROM d.audit_log WHERE seq = 2) WHERE id = 1",
            data.display()
        ),
    );
    let out = install.run(&["audit", "verify"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("entry 3") && stderr.contains("head file"),
        "{stderr}"
    );
    // Moving the head file back by hand is caught as well: it no longer carries our signature.
    let head = install.data().join("audit-head");
    let text = std::fs::read_to_string(&head).unwrap();
    std::fs::write(&head, text.replacen(" 3 ", " 2 ", 1)).unwrap();
    let out = install.run(&["audit", "verify"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("not a head signed by this server"),
        "{stderr}"
    );
}

/// The documented way to check a receipt with standard tools (README, "Erasure receipts").
const OPENSSL_PROCEDURE: &str = "sed '$d' receipt.txt > receipt.body
tail -n 1 receipt.txt | cut -d' ' -f2 | base64 -d > receipt.sig
openssl pkeyutl -verify -pubin -inkey vintrova-receipt-key.pem -rawin -in receipt.body -sigfile receipt.sig";

#[test]
fn an_erasure_receipt_verifies_with_the_cli_and_with_openssl_and_fails_after_any_changed_byte() {
    let install = Install::new();
    let id = install.add(SEED);
    let erased: Value =
        serde_json::from_str(&install.ok(&["subject", "erase", &id], None)).unwrap();
    let text = erased["signed"]["text"].as_str().unwrap().to_string();
    for value in SEED_VALUES {
        assert!(!text.contains(value), "the receipt names `{value}`");
    }
    assert!(!text.contains(&id));
    let dir = install.dir.path();
    std::fs::write(dir.join("receipt.txt"), &text).unwrap();
    let key = install.ok(&["receipt", "key"], None);
    assert!(key.starts_with("-----BEGIN PUBLIC KEY-----"));
    std::fs::write(dir.join("vintrova-receipt-key.pem"), &key).unwrap();
    let receipt = dir.join("receipt.txt");
    let receipt = receipt.to_str().unwrap();

    // This installation's key: it verifies, and the server knows it issued it.
    let here = install.ok(&["receipt", "verify", receipt], None);
    assert!(
        here.contains("verifies") && here.contains("issued here: yes"),
        "{here}"
    );
    assert!(here.contains("destroyed:  contact"), "{here}");
    // Offline, with the published key only.
    let published = dir.join("vintrova-receipt-key.pem");
    let offline = Command::new(BIN)
        .args(["receipt", "verify", receipt, "--key"])
        .arg(&published)
        .output()
        .unwrap();
    assert!(offline.status.success());
    // Without a key and without an installation, it says what to do and creates nothing.
    let elsewhere = tempfile::tempdir().unwrap();
    let nowhere = elsewhere.path().join("no-install");
    let refused = Command::new(BIN)
        .arg("--data-dir")
        .arg(&nowhere)
        .args(["receipt", "verify", receipt])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--key"));
    assert!(!nowhere.exists(), "no data directory was made");
    let openssl = |dir: &Path| {
        Command::new("sh")
            .arg("-c")
            .arg(OPENSSL_PROCEDURE)
            .current_dir(dir)
            .output()
            .expect("sh and openssl run")
    };
    let checked = openssl(dir);
    assert!(
        checked.status.success()
            && String::from_utf8_lossy(&checked.stdout).contains("Signature Verified Successfully"),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );

    // Any changed byte, anywhere in the file, and neither accepts it.
    for at in [0, text.len() / 2, text.len() - 5] {
        let mut bytes = text.clone().into_bytes();
        bytes[at] ^= 0x01;
        std::fs::write(dir.join("receipt.txt"), &bytes).unwrap();
        let out = install.run(&["receipt", "verify", receipt], None);
        assert_eq!(out.status.code(), Some(4), "byte {at}");
        assert!(!openssl(dir).status.success(), "openssl, byte {at}");
    }
}

#[test]
fn rotating_the_master_key_keeps_everyone_readable_and_retires_the_old_key() {
    let install = Install::new();
    let id = install.add(SEED);
    let key = install.data().join("master.key");
    let old = std::fs::read(&key).unwrap();
    let out = install.run(&["keys", "rotate"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("v2"));
    assert_ne!(std::fs::read(&key).unwrap(), old);
    assert!(install.copy(&id).contains("Жансая"));
    assert!(install.audit_entries().contains("entries"));

    std::fs::write(&key, &old).unwrap();
    let out = install.run(&["subject", "export", &id], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("version 1") && stderr.contains("version 2"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Жансая"));
}

#[test]
fn a_lost_master_key_is_never_silently_replaced() {
    let install = Install::new();
    install.add(SEED);
    std::fs::remove_file(install.data().join("master.key")).unwrap();
    let out = install.run(&["audit", "verify"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("restore it from your backup"));
    assert!(!install.data().join("master.key").exists());
}

#[test]
fn policy_check_prints_every_problem_and_the_server_refuses_a_bad_policy() {
    let install = Install::new();
    assert!(
        install
            .ok(&["policy", "check"], None)
            .contains("6 categories, 7 purposes")
    );
    let shipped = include_str!("../../../policy/vintrova.toml");
    let typo = shipped
        .replacen(
            "categories = [\"contact\", \"education\"]",
            "categories = [\"contact\", \"educaton\"]",
            1,
        )
        .replacen("term = \"P5Y\"", "term = \"five years\"", 1);
    let file = install.dir.path().join("typo.toml");
    std::fs::write(&file, typo).unwrap();
    let out = install.run(&["policy", "check", "--file", file.to_str().unwrap()], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("purpose[0].categories[1]: `educaton` is not a declared category"),
        "{stderr}"
    );
    assert!(stderr.contains("retention[2].term"), "{stderr}");

    let out = install.run(
        &[
            "--policy",
            file.to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ],
        None,
    );
    assert!(
        !out.status.success(),
        "the server started on an invalid policy"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("educaton"));
}

/// Start `serve` on a free loopback port with `envs`; the running child, its address, and what
/// it said until it was listening.
fn serve_until_listening(
    install: &Install,
    envs: &[(&str, &str)],
) -> (std::process::Child, String, String) {
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(install.data())
        .args(&install.extra)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("VINTROVA_DATABASE_URL")
        .envs(envs.iter().copied())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 512];
    let addr = loop {
        let n = stderr.read(&mut buf).unwrap();
        assert!(n > 0, "the server exited: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        // Only a whole line: a read may stop in the middle of the port.
        if let Some(rest) = seen.split("serving on http://").nth(1)
            && let Some((addr, _)) = rest.split_once(' ')
        {
            break addr.to_string();
        }
    };
    // Keep the pipe open: the server goes on writing to stderr.
    child.stderr = Some(stderr);
    (child, addr, seen)
}

#[test]
fn the_server_starts_serves_health_and_stops_on_sigterm() {
    let install = Install::new();
    let (mut child, addr, _) = serve_until_listening(&install, &[]);
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"backend\":\"sqlite\""));
    assert_eq!(
        std::fs::metadata(install.data().join("api-token"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    // Issue 23: a request in flight when SIGTERM comes is answered before the server goes — its
    // head is read, its body still on the way.
    let mut in_flight = std::net::TcpStream::connect(&addr).unwrap();
    in_flight
        .write_all(
            b"POST /api/v1/subjects HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{",
        )
        .unwrap();
    // Held: the server counts it in flight (beside the scrape that asks).
    let token = std::fs::read_to_string(install.data().join("api-token")).unwrap();
    let scrape = |addr: &str| -> Option<String> {
        let mut s = std::net::TcpStream::connect(addr).ok()?;
        let ask = format!(
            "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            token.trim()
        );
        s.write_all(ask.as_bytes()).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    };
    let held = (0..500)
        .any(|_| scrape(&addr).is_some_and(|m| m.contains("vintrova_http_requests_in_flight 2")));
    assert!(
        held,
        "the half-sent request is in flight: {:?}",
        scrape(&addr)
    );
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    // Stopping: the server takes no new connection, and still owes the held one its answer.
    let closed = (0..5_000).any(|_| std::net::TcpStream::connect(&addr).is_err());
    assert!(closed, "the listener closed on SIGTERM");
    in_flight.write_all(b"}").unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 401"),
        "answered, not cut: {answer}"
    );
    assert!(child.wait().unwrap().success(), "graceful shutdown exits 0");
    let mut said = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    assert!(
        said.contains("finishing the background work") && said.contains("Vintrova stopped."),
        "the jobs' rounds end before the process: {said}"
    );
    // The first start put the policy in force in the public archive.
    let list: Value = serde_json::from_str(&install.ok(&["policy", "list"], None)).unwrap();
    let versions = list.as_array().unwrap();
    assert_eq!(versions.len(), 1, "{list}");
    assert_eq!(versions[0]["version"], "2025-01-15");
    assert_eq!(versions[0]["material"], false);
}

#[test]
fn the_cli_works_the_same_on_postgresql() {
    let (rt, pool, database, url) = fresh_postgres_database();
    let mut install = Install::new();
    install.extra = vec!["--database-url".into(), url];
    let id = install.add(SEED);
    assert!(install.copy(&id).contains("Қуанышбекова"));
    install.ok(&["keys", "rotate"], None);
    assert!(install.copy(&id).contains("Қуанышбекова"));
    install.ok(&["subject", "erase", &id], None);
    assert_eq!(
        install.run(&["subject", "export", &id], None).status.code(),
        Some(3)
    );
    assert!(
        install.audit_entries().contains("7 entries"),
        "create, request received and verified, export, rotation, export, erase"
    );
    assert!(
        !install.data().join("vintrova.db").exists(),
        "nothing went to SQLite"
    );
    rt.block_on(
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE {database} WITH (FORCE)"
        )))
        .execute(&pool),
    )
    .unwrap();
}

/// A new database on the test server: (runtime, admin pool, name, URL). PostgreSQL is required.
fn fresh_postgres_database() -> (tokio::runtime::Runtime, sqlx::PgPool, String, String) {
    let admin = std::env::var(vintrova_store_tests::POSTGRES_ENV)
        .unwrap_or_else(|_| vintrova_store_tests::POSTGRES_DEFAULT.to_string());
    let database = format!("vintrova_cli_{}", uuid_simple());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pool = rt
        .block_on(sqlx::PgPool::connect(&admin))
        .unwrap_or_else(|e| panic!("PostgreSQL is required at {admin}: {e}"));
    rt.block_on(sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {database}"))).execute(&pool))
        .unwrap();
    let url = format!("{}/{database}", admin.rsplit_once('/').unwrap().0);
    (rt, pool, database, url)
}

fn uuid_simple() -> String {
    format!(
        "{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

#[test]
fn demo_seed_fills_years_of_activity_and_no_value_lands_on_disk_in_clear() {
    let install = Install::new();
    let out = install.run(&["demo", "seed", "--subjects", "40", "--years", "3"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("seeded 40/40 people (100%)"),
        "progress is shown: {stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["subjects"], 40);
    assert!(report["technical_events"].as_u64().unwrap() >= 40);
    assert!(install.audit_entries().contains("entries verified"));

    let files = read_tree(&install.data());
    let files_but_machine_text = without_machine_text(&files);
    let mut years = std::collections::BTreeSet::new();
    for id in report["sample"].as_array().unwrap() {
        let export: Value = serde_json::from_str(&install.copy(id.as_str().unwrap())).unwrap();
        let entries = export["categories"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|b| b["entries"].as_array().unwrap());
        let values = entries.flat_map(|e| {
            let at = e["collected_at"].as_str().unwrap();
            e["values"]
                .as_object()
                .unwrap()
                .iter()
                .map(move |(f, v)| (at, f, v))
        });
        for (at, field, value) in values {
            years.insert(at[..4].to_string());
            let Value::String(text) = value else {
                continue;
            };
            // A visit time is also the event's own time, which retention reads in clear.
            let is_time =
                text.ends_with('Z') && text.parse::<f64>().is_err() && text.starts_with("20");
            // Public or enumerated words are not the person's own: a course id is the public
            // catalog's and a page the public site's (that this person takes it or visited it
            // is what is sealed), a payment's method and status are among a handful of words an
            // order's workflow state also uses. A page once matched by chance: a ciphertext
            // byte that happened to be '/' before the purpose name `support_request`.
            let public = [
                "education.course",
                "usage.page",
                "payment.method",
                "payment.status",
            ]
            .contains(&field.as_str());
            // A short number (a card's last four) occurs by chance inside ids and timestamps.
            let short_number = text.len() < 8 && text.bytes().all(|b| b.is_ascii_digit());
            let haystack = if short_number {
                &files_but_machine_text
            } else {
                &files
            };
            if text.chars().count() >= 4 && !is_time && !public {
                assert!(
                    !contains(haystack, text.as_bytes()),
                    "a seeded {field} is stored in clear"
                );
            }
        }
    }
    let this_year = 1970
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 31_556_952;
    let earliest: u64 = years.iter().next().unwrap().parse().unwrap();
    assert!(
        earliest <= this_year - 2,
        "the first people arrived years ago: {years:?}"
    );
    assert!(
        stderr.lines().all(|l| !l.contains('@')),
        "no email in the progress output"
    );
}

#[test]
fn a_short_number_in_clear_is_found_but_not_its_chance_twin_in_an_id_or_a_timestamp() {
    let machine = b"01a21b06-c012-7964-a60c-db780b273fde 2024-03-09T19:07:36.879640123Z \
        digest 06693e347ee9cf924c7964 on 2026-11-27 03:22:36";
    let masked = without_machine_text(machine);
    assert!(contains(machine, b"7964"), "the twin is there to be hidden");
    assert!(
        !contains(&masked, b"7964"),
        "ids, digests and times are blanked"
    );
    let mut stored = machine.to_vec();
    stored.extend_from_slice(b"\x02\x0b7964succeeded {\"card_last4\":\"7964\"}");
    let masked = without_machine_text(&stored);
    assert_eq!(
        masked.windows(4).filter(|w| w == b"7964").count(),
        2,
        "a number in a column and in JSON stays visible"
    );
}

#[test]
fn the_catalog_accounts_and_records_are_reachable_from_the_command_line() {
    let install = Install::new();
    let offering = r#"{"id": "neural-networks-101", "kind": "course", "level": "beginner", "title_ru": "Нейросети", "title_kk": "Нейрондық желілер", "title_en": "Neural networks"}"#;
    install.ok(
        &["catalog", "add", "--json", "-"],
        Some(offering.as_bytes()),
    );
    let catalog: Value = serde_json::from_str(&install.ok(&["catalog", "list"], None)).unwrap();
    assert_eq!(catalog[0]["level"], "beginner");
    let bad = install.run(&["catalog", "add", "--json", "-"], Some(b"{\"id\": 1}"));
    assert!(
        !bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("expected shape")
    );

    let id = install.add(SEED);
    let records: Value =
        serde_json::from_str(&install.ok(&["subject", "records", &id], None)).unwrap();
    assert_eq!(records["orders"], serde_json::json!([]));
    let consent = install.ok(
        &["subject", "consent", &id, "--purpose", "notifications"],
        None,
    );
    assert!(consent.contains("\"granted\""));
    let withdrawn = install.ok(
        &[
            "subject",
            "consent",
            &id,
            "--purpose",
            "notifications",
            "--withdraw",
            "--channel",
            "cabinet",
        ],
        None,
    );
    assert!(withdrawn.contains("\"withdrawn\""));
    let report: Value =
        serde_json::from_str(&install.ok(&["notify", "--kind", "course_update"], None)).unwrap();
    assert_eq!(report["not_sent"]["consent_withdrawn"], 1);
    let close = install.run(&["account", "close", &id], None);
    assert_eq!(
        close.status.code(),
        Some(3),
        "a subject added by staff has no account to close"
    );
}

#[test]
fn enrollments_tickets_orders_and_events_are_reachable_from_the_command_line() {
    let install = Install::new();
    let offering = r#"{"id": "transformers", "kind": "webinar", "level": "intermediate", "title_ru": "Трансформеры", "title_kk": "Трансформерлер", "title_en": "Transformers"}"#;
    install.ok(
        &["catalog", "add", "--json", "-"],
        Some(offering.as_bytes()),
    );
    let id = install.add(SEED);
    let enrolled: Value = serde_json::from_str(&install.ok(
        &["enrollment", "add", &id, "--offering", "transformers"],
        None,
    ))
    .unwrap();
    let enrollment = enrolled["id"].as_str().unwrap().to_string();
    let done: Value = serde_json::from_str(&install.ok(
        &["enrollment", "progress", &enrollment, "--percent", "100"],
        None,
    ))
    .unwrap();
    assert_eq!(done["state"], "completed", "attended");

    let ticket: Value = serde_json::from_str(&install.ok(
        &["ticket", "open", &id, "--title", "Вопрос"],
        Some("Где запись вебинара?".as_bytes()),
    ))
    .unwrap();
    let ticket_id = ticket["id"].as_str().unwrap().to_string();
    let answered: Value = serde_json::from_str(&install.ok(
        &["ticket", "reply", &ticket_id, "--staff"],
        Some("В кабинете".as_bytes()),
    ))
    .unwrap();
    assert_eq!(answered["state"], "answered");
    install.ok(&["ticket", "close", &ticket_id], None);

    let order: Value =
        serde_json::from_str(&install.ok(&["order", "create", &id, "--amount", "990000"], None))
            .unwrap();
    assert_eq!(order["order"]["state"], "pending");
    let refused = install.run(
        &["order", "refund", order["order"]["id"].as_str().unwrap()],
        None,
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("a paid order"));

    let events = install.ok(
        &["event", &id, "--purpose", "security", "--json", "-"],
        Some(br#"{"technical": {"ip": "203.0.113.5"}}"#),
    );
    assert!(events.contains('-'), "prints the event ids: {events}");
    let analytics = install.run(
        &[
            "event",
            &id,
            "--purpose",
            "learning_analytics",
            "--source",
            "analytics_cookies",
            "--json",
            "-",
        ],
        Some(br#"{"usage": {"page": "/courses"}}"#),
    );
    assert!(
        String::from_utf8_lossy(&analytics.stderr).contains("consent"),
        "analytics need the cookie consent"
    );
    let records: Value =
        serde_json::from_str(&install.ok(&["subject", "records", &id], None)).unwrap();
    assert_eq!(records["enrollments"].as_array().unwrap().len(), 1);
    assert_eq!(records["tickets"][0]["state"], "closed");
    assert_eq!(records["orders"].as_array().unwrap().len(), 1);
}

#[test]
fn notices_leave_through_the_outbox_as_mail_files_in_the_data_directory() {
    let install = Install::new();
    let id = install.add(SEED);
    install.ok(
        &["subject", "consent", &id, "--purpose", "notifications"],
        None,
    );
    let report: Value =
        serde_json::from_str(&install.ok(&["notify", "--kind", "course_update"], None)).unwrap();
    assert_eq!(report["queued"], 1);
    let status: Value = serde_json::from_str(&install.ok(&["outbox", "status"], None)).unwrap();
    assert_eq!(status["pending"], 1);
    let delivered: Value = serde_json::from_str(&install.ok(&["outbox", "deliver"], None)).unwrap();
    assert_eq!(delivered["sent"], 1);
    let mail: Vec<_> = std::fs::read_dir(install.data().join("mail"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(mail.len(), 1);
    let text = std::fs::read_to_string(&mail[0]).unwrap();
    assert!(
        text.contains("To: zhansaya.kuanyshbekova@mail.kz") && text.contains("Message-ID: <"),
        "{text}"
    );
    assert!(
        text.contains("Subject: =?utf-8?B?"),
        "a Cyrillic subject is encoded"
    );
    let status: Value = serde_json::from_str(&install.ok(&["outbox", "status"], None)).unwrap();
    assert_eq!(status["sent"], 1);
}

#[test]
fn a_request_by_letter_is_entered_verified_and_answered_from_the_command_line() {
    let install = Install::new();
    let id = install.add(SEED);
    let letter = r#"{"email": "zhansaya.kuanyshbekova@mail.kz", "description": "Прошу сведения о моих данных"}"#;
    let request: Value = serde_json::from_str(&install.ok(
        &["request", "add", "--right", "information"],
        Some(letter.as_bytes()),
    ))
    .unwrap();
    // Held as a letter until the code comes back: the answer names no person.
    assert!(request.get("subject").is_none(), "{request}");
    let request_id = request["id"].as_str().unwrap().to_string();
    let waiting: Value = serde_json::from_str(&install.ok(&["request", "letters"], None)).unwrap();
    assert_eq!(waiting[0]["id"], request_id.as_str());
    assert_eq!(waiting[0]["right"], "information");
    let early = install.run(&["request", "fulfil", &request_id], None);
    assert!(!early.status.success(), "nothing before verification");
    install.ok(&["outbox", "deliver"], None);
    let mail: Vec<_> = std::fs::read_dir(install.data().join("mail"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let text = std::fs::read_to_string(&mail[0]).unwrap();
    let body: String = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    use base64::Engine;
    let decoded = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap(),
    )
    .unwrap();
    let code: String = decoded
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    let wrong = install.run(&["request", "verify", &request_id, "--code", "nope"], None);
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("attempt(s) left"));
    let verified: Value = serde_json::from_str(
        &install.ok(&["request", "verify", &request_id, "--code", &code], None),
    )
    .unwrap();
    assert_eq!(verified["subject"], id.as_str(), "the address's holder");
    let listed: Value = serde_json::from_str(&install.ok(&["request", "list"], None)).unwrap();
    assert_eq!(listed[0]["days_left"], 30);
    let answer: Value =
        serde_json::from_str(&install.ok(&["request", "fulfil", &request_id], None)).unwrap();
    assert_eq!(answer["right"], "information");
    assert!(
        answer["categories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["category"] == "professional")
    );
}

/// A second person, who is not erased: the restore must bring her back whole.
const KEPT: &str = r#"{"contact": {"first_name": "Динара", "email": "dinara.kept@mail.kz"}}"#;

/// Backup → erase → restore the old backup: the erased person stays gone, her values appear
/// nowhere, the other person is back whole, and the backup itself holds nothing in clear.
fn backup_restore_keeps_an_erasure_erased(
    install: &Install,
    stored: impl Fn() -> Vec<u8>,
    sealed_of: impl Fn(&str) -> Vec<Vec<u8>>,
) {
    let erased = install.add(SEED);
    let sealed = sealed_of(&erased);
    assert!(!sealed.is_empty());
    let kept = install.add(KEPT);
    let file = install.dir.path().join("nightly.vbak");
    let file_arg = file.to_str().unwrap();
    let created: Value =
        serde_json::from_str(&install.ok(&["backup", "create", "--out", file_arg], None)).unwrap();
    assert!(created["parts"].as_array().unwrap().len() >= 2, "{created}");
    let backup_bytes = std::fs::read(&file).unwrap();
    for value in SEED_VALUES {
        assert!(
            !contains(&backup_bytes, value.as_bytes()),
            "the backup holds `{value}` in clear"
        );
    }
    install.ok(&["backup", "verify", file_arg], None);

    install.ok(&["subject", "erase", &erased], None);

    // Issue 19: never under a running server.
    let (mut server, _, _) = serve_until_listening(install, &[]);
    let refused = install.run(&["backup", "restore", file_arg], None);
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("a server is running"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(
        install
            .run(&["subject", "export", &erased], None)
            .status
            .code(),
        Some(3)
    );

    // Issue 19: a restore killed at either step leaves data that serves nothing and changes
    // nothing — the erased person is not back — until the restore is run again.
    for point in ["restore:copy-in-place", "restore:erasures-reapplied"] {
        let killed = install.run_with(
            &["backup", "restore", file_arg],
            None,
            &[("VINTROVA_CRASH_AT", point)],
        );
        assert_eq!(
            killed.status.code(),
            None,
            "{point}: {}",
            String::from_utf8_lossy(&killed.stderr)
        );
        for args in [
            &["subject", "export", erased.as_str()][..],
            &["serve", "--listen", "127.0.0.1:0"],
            &["subject", "add", "--json", "-", "--contract"],
        ] {
            let refused = install.run(args, Some(KEPT.as_bytes()));
            let said = String::from_utf8_lossy(&refused.stderr);
            assert_eq!(
                refused.status.code(),
                Some(1),
                "{point}: {args:?} ran: {said}"
            );
            assert!(
                said.contains("restore was interrupted") && said.contains("backup restore"),
                "{said}"
            );
        }
    }
    let restored: Value =
        serde_json::from_str(&install.ok(&["backup", "restore", file_arg], None)).unwrap();
    assert_eq!(restored["journal_missing"], false);
    assert_eq!(restored["erasures_reapplied"], 1, "{restored}");
    assert_eq!(
        install
            .run(&["subject", "export", &erased], None)
            .status
            .code(),
        Some(3),
        "the erased person does not come back with the backup"
    );
    assert!(install.copy(&kept).contains("dinara.kept@mail.kz"));
    let bytes = stored();
    for value in SEED_VALUES {
        assert!(
            !contains(&bytes, value.as_bytes()),
            "`{value}` is in the restored data"
        );
    }
    for blob in &sealed {
        assert!(
            !contains(&bytes, blob),
            "a sealed value of the erased person is back in the restored data"
        );
    }
    install.audit_entries();

    let mut damaged = backup_bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 1;
    std::fs::write(&file, &damaged).unwrap();
    let refused = install.run(&["backup", "verify", file_arg], None);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("altered"));
    std::fs::write(&file, &backup_bytes[..backup_bytes.len() - 100]).unwrap();
    let cut = install.run(&["backup", "restore", file_arg], None);
    assert!(
        String::from_utf8_lossy(&cut.stderr).contains("cut short"),
        "{}",
        String::from_utf8_lossy(&cut.stderr)
    );
    assert!(
        install.copy(&kept).contains("dinara.kept@mail.kz"),
        "a refused restore changes nothing"
    );

    // Without the journal the erased person comes back, and the restore says so loudly; with
    // the journal put back, a second restore erases them again.
    std::fs::write(&file, &backup_bytes).unwrap();
    let journal = install.data().join("erasures.journal");
    let aside = install.dir.path().join("journal.aside");
    std::fs::rename(&journal, &aside).unwrap();
    let blind = install.run(&["backup", "restore", file_arg], None);
    assert!(blind.status.success());
    let said: Value = serde_json::from_slice(&blind.stdout).unwrap();
    assert_eq!(said["journal_missing"], true);
    assert!(
        String::from_utf8_lossy(&blind.stderr).contains("WARNING: there is no erasure journal")
    );
    std::fs::rename(&aside, &journal).unwrap();
    let again: Value =
        serde_json::from_str(&install.ok(&["backup", "restore", file_arg], None)).unwrap();
    assert_eq!(again["erasures_reapplied"], 1, "{again}");
    assert_eq!(
        install
            .run(&["subject", "export", &erased], None)
            .status
            .code(),
        Some(3)
    );
}

/// Where an install keeps its data, for a test to count rows in.
enum Db {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Db {
    /// `sql`'s single count, with `$1` bound to the subject `id` when there is one.
    fn count(&self, sql: &str, id: Option<&str>) -> i64 {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let id: Option<uuid::Uuid> = id.map(|id| id.parse().unwrap());
        macro_rules! count_on {
            ($pool:expr) => {{
                let pool = $pool;
                let query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql.to_string()));
                let query = match id {
                    Some(id) => query.bind(id),
                    None => query,
                };
                let n = query.fetch_one(&pool).await.unwrap();
                pool.close().await;
                n
            }};
        }
        rt.block_on(async {
            match self {
                Db::Sqlite(path) => count_on!(
                    sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                        .await
                        .unwrap()
                ),
                Db::Postgres(url) => count_on!(sqlx::PgPool::connect(url).await.unwrap()),
            }
        })
    }
}

impl Db {
    /// Run `sql` as someone with the database would.
    fn execute(&self, sql: &str) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let sql = AssertSqlSafe(sql.to_string());
        rt.block_on(async {
            match self {
                Db::Sqlite(path) => {
                    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                        .await
                        .unwrap();
                    sqlx::raw_sql(sql).execute(&pool).await.unwrap();
                    pool.close().await;
                }
                Db::Postgres(url) => {
                    let pool = sqlx::PgPool::connect(url).await.unwrap();
                    sqlx::raw_sql(sql).execute(&pool).await.unwrap();
                    pool.close().await;
                }
            }
        })
    }
}

/// Issue 19: a sweep killed at `point` (after it destroyed a person's keys; issue 24, after it
/// dropped a whole month of events), run again, ends where an uninterrupted sweep of the same
/// data ends: nothing left due, the same rows kept, the same number of receipts, nothing the
/// drop noted left unaccounted for, a log that verifies. `twin` is an exact copy of the same
/// data; `planned` is the dry run's count that shows the point will be reached.
fn a_sweep_killed_at_a_point_ends_as_an_uninterrupted_one(
    (point, planned_count): (&str, &str),
    (killed, killed_db): (Install, Db),
    (twin, twin_db): (Install, Db),
) {
    let planned: Value =
        serde_json::from_str(&killed.ok(&["retention", "run", "--dry-run", "--json"], None))
            .unwrap();
    assert!(planned[planned_count].as_u64().unwrap() > 0, "{planned}");
    let cut = killed.run_with(&["retention", "run"], None, &[("VINTROVA_CRASH_AT", point)]);
    let said = String::from_utf8_lossy(&cut.stderr);
    assert_eq!(cut.status.code(), None, "not killed: {said}");
    killed.ok(&["retention", "run", "--json"], None);
    twin.ok(&["retention", "run", "--json"], None);

    let left: Value =
        serde_json::from_str(&killed.ok(&["retention", "run", "--dry-run", "--json"], None))
            .unwrap();
    assert_eq!(left["key_classes_emptied"], 0, "{left}");
    assert_eq!(left["subjects_removed"], 0, "{left}");
    for part in ["deleted", "records_deleted"] {
        assert!(
            left[part].as_array().unwrap().iter().all(|row| {
                row.as_object()
                    .unwrap()
                    .iter()
                    .all(|(k, v)| !["values", "events", "records"].contains(&k.as_str()) || v == 0)
            }),
            "still due after the second run: {left}"
        );
    }
    for sql in [
        "SELECT count(*) FROM pd_values",
        "SELECT count(*) FROM pd_events",
        "SELECT count(*) FROM records",
        "SELECT count(*) FROM subjects",
        "SELECT count(*) FROM erasure_receipts",
        "SELECT count(*) FROM expired_by_month",
    ] {
        assert_eq!(
            killed_db.count(sql, None),
            twin_db.count(sql, None),
            "{sql}"
        );
    }
    killed.audit_entries();
}

/// The same data directory (keys, head, journal) for a twin install.
fn copy_data_dir(from: &Install, to: &Install) {
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(from.data())
        .arg(to.data())
        .status()
        .unwrap();
    assert!(copied.success());
}

#[test]
fn a_sweep_killed_after_destroying_keys_ends_as_an_uninterrupted_one_on_sqlite() {
    let killed = Install::new();
    killed.ok(&["demo", "seed", "--subjects", "40", "--years", "3"], None);
    let twin = Install::new();
    copy_data_dir(&killed, &twin);
    let db = |i: &Install| Db::Sqlite(i.data().join("vintrova.db"));
    let (killed_db, twin_db) = (db(&killed), db(&twin));
    a_sweep_killed_at_a_point_ends_as_an_uninterrupted_one(
        KEYS_DESTROYED,
        (killed, killed_db),
        (twin, twin_db),
    );
}

const KEYS_DESTROYED: (&str, &str) = ("sweep:keys-destroyed", "key_classes_emptied");
const MONTH_DROPPED: (&str, &str) = ("sweep:month-dropped", "event_months_dropped");

#[test]
fn a_sweep_killed_after_destroying_keys_ends_as_an_uninterrupted_one_on_postgresql() {
    a_sweep_killed_on_postgresql_ends_as_an_uninterrupted_one(KEYS_DESTROYED);
}

/// Only PostgreSQL files events by month, so only there can a sweep be cut after a drop.
#[test]
fn a_sweep_killed_after_dropping_a_month_ends_as_an_uninterrupted_one_on_postgresql() {
    a_sweep_killed_on_postgresql_ends_as_an_uninterrupted_one(MONTH_DROPPED);
}

fn a_sweep_killed_on_postgresql_ends_as_an_uninterrupted_one(point: (&str, &str)) {
    let (rt, pool, database, url) = fresh_postgres_database();
    let mut killed = Install::new();
    killed.extra = vec!["--database-url".into(), url.clone()];
    killed.ok(&["demo", "seed", "--subjects", "40", "--years", "3"], None);
    // The twin: the same database, copied whole, and the same data directory (keys, head).
    let copy = format!("{database}_twin");
    rt.block_on(
        sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE DATABASE {copy} TEMPLATE {database}"
        )))
        .execute(&pool),
    )
    .unwrap();
    let copy_url = format!("{}/{copy}", url.rsplit_once('/').unwrap().0);
    let mut twin = Install::new();
    twin.extra = vec!["--database-url".into(), copy_url.clone()];
    copy_data_dir(&killed, &twin);
    a_sweep_killed_at_a_point_ends_as_an_uninterrupted_one(
        point,
        (killed, Db::Postgres(url)),
        (twin, Db::Postgres(copy_url)),
    );
    for db in [database, copy] {
        rt.block_on(
            sqlx::raw_sql(AssertSqlSafe(format!("DROP DATABASE {db} WITH (FORCE)"))).execute(&pool),
        )
        .unwrap();
    }
}

/// Issue 19: delivery killed after a message left but before it was marked sent: once the
/// claim's lease has run out (the test moves it, as time would), the next delivery sends the
/// same message again — the same Message-ID, the same file — and marks it sent and purged.
fn delivery_killed_after_sending_sends_the_same_message_again(install: &Install, db: &Db) {
    let id = install.add(SEED);
    let letter = serde_json::json!({"subject": id, "description": "Прошу копию моих данных"});
    install.ok(
        &["request", "add", "--right", "access"],
        Some(letter.to_string().as_bytes()),
    );
    assert_eq!(
        db.count("SELECT count(*) FROM outbox WHERE state = 'pending'", None),
        1
    );
    let cut = install.run_with(
        &["outbox", "deliver"],
        None,
        &[("VINTROVA_CRASH_AT", "outbox:sent")],
    );
    assert_eq!(
        cut.status.code(),
        None,
        "{}",
        String::from_utf8_lossy(&cut.stderr)
    );
    let sent_once = install.mails();
    assert_eq!(sent_once.len(), 1, "the message left before the kill");
    assert_eq!(
        db.count("SELECT count(*) FROM outbox WHERE state = 'sending'", None),
        1
    );
    let first = std::fs::read_to_string(sent_once.first().unwrap()).unwrap();

    install.ok(&["outbox", "deliver"], None);
    assert_eq!(
        db.count("SELECT count(*) FROM outbox WHERE state = 'sent'", None),
        0,
        "still under its lease: not sent twice at once"
    );
    db.execute("UPDATE outbox SET claimed_until_us = 0 WHERE state = 'sending'");
    install.ok(&["outbox", "deliver"], None);
    assert_eq!(
        install.mails(),
        sent_once,
        "the same message, the same file"
    );
    let again = std::fs::read_to_string(sent_once.first().unwrap()).unwrap();
    let message_id = |m: &str| {
        m.lines()
            .find(|l| l.starts_with("Message-ID:"))
            .unwrap()
            .to_string()
    };
    assert_eq!(message_id(&first), message_id(&again));
    assert_eq!(
        db.count(
            "SELECT count(*) FROM outbox WHERE state = 'sent' AND sealed IS NULL",
            None
        ),
        1,
        "marked sent and purged"
    );
}

#[test]
fn delivery_killed_after_sending_sends_the_same_message_again_on_sqlite() {
    let install = Install::new();
    let db = Db::Sqlite(install.data().join("vintrova.db"));
    delivery_killed_after_sending_sends_the_same_message_again(&install, &db);
}

#[test]
fn delivery_killed_after_sending_sends_the_same_message_again_on_postgresql() {
    let (rt, pool, database, url) = fresh_postgres_database();
    let mut install = Install::new();
    install.extra = vec!["--database-url".into(), url.clone()];
    delivery_killed_after_sending_sends_the_same_message_again(&install, &Db::Postgres(url));
    rt.block_on(
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE {database} WITH (FORCE)"
        )))
        .execute(&pool),
    )
    .unwrap();
}

/// Issue 19: an erasure killed at each of its steps (`VINTROVA_CRASH_AT`: the process aborts
/// there, as under kill -9) leaves no half-erased person. Meanwhile the person reads as erased
/// — not found by email, not shown — and whoever runs next (the same command again, or
/// `serve` at start) ends that same erasure: no sealed value or index entry left, one erase
/// entry, one receipt, a log that verifies — what an uninterrupted erasure leaves.
fn an_erasure_killed_at_each_step_ends_as_one_erasure(mut fresh: impl FnMut() -> (Install, Db)) {
    for point in [
        "erase:intent-recorded",
        "erase:keys-destroyed",
        "erase:done",
    ] {
        let (install, db) = fresh();
        let id = install.add(SEED);
        let killed = install.run_with(
            &["subject", "erase", &id],
            None,
            &[("VINTROVA_CRASH_AT", point)],
        );
        let said = String::from_utf8_lossy(&killed.stderr);
        assert_eq!(
            killed.status.code(),
            None,
            "{point}: not killed there: {said}"
        );
        assert!(said.contains(point), "{said}");

        let found = install.run(
            &["subject", "find", "--field", "contact.email"],
            Some(b"zhansaya.kuanyshbekova@mail.kz\n"),
        );
        assert!(
            !String::from_utf8_lossy(&found.stdout).contains(&id),
            "{point}: found by email while being erased"
        );
        let shown = install.run(
            &["subject", "show", &id, "--purpose", "personalization"],
            None,
        );
        assert_eq!(
            shown.status.code(),
            Some(3),
            "{point}: shown while being erased"
        );

        if point == "erase:keys-destroyed" {
            let (mut server, _, _) = serve_until_listening(&install, &[]);
            server.kill().unwrap();
            server.wait().unwrap();
        } else {
            let again = install.run(&["subject", "erase", &id], None);
            let expected = if point == "erase:done" { 3 } else { 0 };
            assert_eq!(
                again.status.code(),
                Some(expected),
                "{point}: {}",
                String::from_utf8_lossy(&again.stderr)
            );
        }

        for table in ["pd_values", "blind_index", "subjects", "erasures_underway"] {
            let column = if table == "subjects" {
                "id"
            } else {
                "subject_id"
            };
            assert_eq!(
                db.count(
                    &format!("SELECT count(*) FROM {table} WHERE {column} = $1"),
                    Some(&id)
                ),
                0,
                "{point}: {table} still holds the person"
            );
        }
        assert_eq!(
            db.count(
                "SELECT count(*) FROM audit_log WHERE action = 'erase' AND subject_id = $1",
                Some(&id)
            ),
            1,
            "{point}: one erasure on record"
        );
        assert_eq!(
            db.count("SELECT count(*) FROM erasure_receipts", None),
            1,
            "{point}: one receipt"
        );
        install.audit_entries();
        assert_eq!(
            install.run(&["subject", "export", &id], None).status.code(),
            Some(3)
        );
    }
}

#[test]
fn an_erasure_killed_at_each_step_ends_as_one_erasure_on_sqlite() {
    an_erasure_killed_at_each_step_ends_as_one_erasure(|| {
        let install = Install::new();
        let db = Db::Sqlite(install.data().join("vintrova.db"));
        (install, db)
    });
}

#[test]
fn an_erasure_killed_at_each_step_ends_as_one_erasure_on_postgresql() {
    let (rt, pool, _, _) = fresh_postgres_database();
    let mut databases = vec![];
    an_erasure_killed_at_each_step_ends_as_one_erasure(|| {
        let (_, _, database, url) = fresh_postgres_database();
        databases.push(database);
        let mut install = Install::new();
        install.extra = vec!["--database-url".into(), url.clone()];
        (install, Db::Postgres(url))
    });
    for database in databases {
        rt.block_on(
            sqlx::raw_sql(AssertSqlSafe(format!(
                "DROP DATABASE {database} WITH (FORCE)"
            )))
            .execute(&pool),
        )
        .unwrap();
    }
}

#[test]
fn backup_then_erasure_then_restore_keeps_the_person_erased_on_sqlite() {
    let install = Install::new();
    backup_restore_keeps_an_erasure_erased(
        &install,
        || read_tree(&install.data()),
        |id| stored_blobs(&install.data().join("vintrova.db"), id),
    );
    let journal = std::fs::read_to_string(install.data().join("erasures.journal")).unwrap();
    assert!(
        journal.lines().all(|l| l.parse::<uuid::Uuid>().is_ok()),
        "the journal holds subject ids only"
    );
}

#[test]
fn backup_then_erasure_then_restore_keeps_the_person_erased_on_postgresql() {
    let (rt, pool, database, url) = fresh_postgres_database();
    let mut install = Install::new();
    install.extra = vec!["--database-url".into(), url.clone()];
    let stored = || {
        rt.block_on(async {
            let db = sqlx::PgPool::connect(&url).await.unwrap();
            let mut out = Vec::new();
            for table in ["pd_values", "pd_events", "blind_index", "vault.vault_keys"] {
                for row in sqlx::query(AssertSqlSafe(format!("SELECT * FROM {table}")))
                    .fetch_all(&db)
                    .await
                    .unwrap()
                {
                    for i in 0..row.len() {
                        if let Ok(Some(b)) = row.try_get::<Option<Vec<u8>>, _>(i) {
                            out.extend(b);
                        } else if let Ok(Some(t)) = row.try_get::<Option<String>, _>(i) {
                            out.extend(t.into_bytes());
                        }
                    }
                }
            }
            db.close().await;
            out
        })
    };
    let sealed_of = |id: &str| {
        rt.block_on(async {
            let db = sqlx::PgPool::connect(&url).await.unwrap();
            let id: uuid::Uuid = id.parse().unwrap();
            let rows = sqlx::query("SELECT sealed FROM pd_values WHERE subject_id = $1")
                .bind(id)
                .fetch_all(&db)
                .await
                .unwrap();
            db.close().await;
            rows.iter().map(|r| r.get::<Vec<u8>, _>(0)).collect()
        })
    };
    backup_restore_keeps_an_erasure_erased(&install, stored, sealed_of);

    // Issue 19: a server on another machine (another data directory, the same database) holds
    // the database's serving lock, and a restore is refused while it runs.
    let elsewhere = Install {
        dir: tempfile::tempdir().unwrap(),
        extra: install.extra.clone(),
    };
    std::fs::create_dir(elsewhere.data()).unwrap();
    for file in ["master.key", "api-token"] {
        std::fs::copy(install.data().join(file), elsewhere.data().join(file)).unwrap();
    }
    let (mut server, _, _) = serve_until_listening(&elsewhere, &[]);
    let file = install.dir.path().join("nightly.vbak");
    let refused = install.run(&["backup", "restore", file.to_str().unwrap()], None);
    server.kill().unwrap();
    server.wait().unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        said.contains("a server is running on this database"),
        "{said}"
    );
    rt.block_on(
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE {database} WITH (FORCE)"
        )))
        .execute(&pool),
    )
    .unwrap();
}

#[test]
fn retention_run_prints_the_same_counts_dry_and_real() {
    let install = Install::new();
    install.add(SEED);
    let bad = install.run(&["retention", "run", "--as-of", "26.11.2026"], None);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--as-of"));
    let future = install.run(
        &["retention", "run", "--as-of", "2099-01-01", "--json"],
        None,
    );
    assert!(!future.status.success(), "a real run may not look ahead");
    let dry: Value = serde_json::from_str(&install.ok(
        &[
            "retention",
            "run",
            "--dry-run",
            "--as-of",
            "2099-01-01",
            "--json",
        ],
        None,
    ))
    .unwrap();
    assert_eq!(dry["dry_run"], true);
    assert!(
        dry["audit_entries_pruned"].as_u64().unwrap() >= 1,
        "by 2099 the audit entries are long due: {dry}"
    );
    let today: Value =
        serde_json::from_str(&install.ok(&["retention", "run", "--dry-run", "--json"], None))
            .unwrap();
    let real: Value =
        serde_json::from_str(&install.ok(&["retention", "run", "--json"], None)).unwrap();
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("dry_run");
        v.as_object_mut().unwrap().remove("as_of");
        v
    };
    assert_eq!(strip(today), strip(real));
    let table = install.ok(&["retention", "run", "--dry-run"], None);
    assert!(table.contains("Retention dry run"), "{table}");
}

/// One HTTPS exchange with the test server, trusting its self-signed certificate.
fn https(
    addr: &str,
    cert: &Path,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> String {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(cert).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connection = rustls::ClientConnection::new(
        std::sync::Arc::new(config),
        ServerName::try_from("localhost").unwrap(),
    )
    .unwrap();
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    exchange(&mut tls, method, path, headers, body)
}

/// One HTTP/1.1 request over `stream`, and the whole response as text.
fn exchange(
    stream: &mut (impl Read + Write),
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> String {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

/// A plain-HTTP call to a server on 127.0.0.1: its status and its body.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    let response = exchange(&mut tcp, method, path, headers, body);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn a_seeded_run_over_tls_logs_no_personal_data_and_first_start_prints_an_enrollment_link() {
    let install = Install::new();
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(install.data())
        .args(["serve", "--listen", "127.0.0.1:0", "--self-signed"])
        .env_remove("VINTROVA_DATABASE_URL")
        .env("VINTROVA_LOG", "debug,sqlx=warn")
        .env("VINTROVA_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A reader keeps every byte the server logs, and says where it listens once it knows.
    let mut stderr = child.stderr.take().unwrap();
    let (tell, listening) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        let mut told = false;
        loop {
            let n = stderr.read(&mut buf).unwrap_or(0);
            if n == 0 {
                break all;
            }
            all.extend_from_slice(&buf[..n]);
            let seen = String::from_utf8_lossy(&all).into_owned();
            if !told
                && let Some(rest) = seen.split("serving on https://").nth(1)
                && let Some((addr, _)) = rest.split_once(' ')
            {
                told = true;
                let _ = tell.send((addr.to_string(), seen.clone()));
            }
        }
    });
    let (addr, first_start) = listening.recv().expect("the server starts");
    assert!(
        first_start.contains("/staff/enroll?token="),
        "{first_start}"
    );
    assert!(
        !first_start.to_lowercase().contains("password:"),
        "no default password"
    );

    let cert = install.data().join("tls/self-signed.crt");
    let token = std::fs::read_to_string(install.data().join("api-token")).unwrap();
    let bearer = format!("Bearer {}", token.trim());
    let auth = [("Authorization", bearer.as_str())];
    let created = https(
        &addr,
        &cert,
        "POST",
        "/api/v1/subjects",
        &auth,
        &format!(
            r#"{{"data": {SEED}, "bases": [{{"kind": "contract_started"}}], "consents": ["contact_data", "phone_number", "professional_profile"]}}"#
        ),
    );
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    assert!(created.to_lowercase().contains("strict-transport-security"));
    let id = created
        .split("\"id\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let export = https(
        &addr,
        &cert,
        "GET",
        &format!("/api/v1/subjects/{id}/purposes/support"),
        &auth,
        "",
    );
    assert!(export.contains("Қуанышбекова"), "the data is served");
    https(
        &addr,
        &cert,
        "POST",
        "/api/v1/subjects/lookup",
        &auth,
        r#"{"field": "contact.email", "value": "zhansaya.kuanyshbekova@mail.kz"}"#,
    );
    https(
        &addr,
        &cert,
        "POST",
        "/api/v1/accounts",
        &auth,
        r#"{"data": {"contact": {"first_name": "Әлихан", "email": "alikhan.unique.logcheck@mail.kz"}}, "password": "Уникальный-пароль-XYZ-42"}"#,
    );
    https(
        &addr,
        &cert,
        "POST",
        "/api/v1/sessions",
        &auth,
        r#"{"email": "alikhan.unique.logcheck@mail.kz", "password": "wrong-Уникальный-пароль"}"#,
    );
    https(
        &addr,
        &cert,
        "POST",
        "/api/v1/requests",
        &auth,
        r#"{"email": "zhansaya.kuanyshbekova@mail.kz", "right": "access", "description": "Прошу копию моих данных Жансая", "channel": "email"}"#,
    );
    https(
        &addr,
        &cert,
        "POST",
        "/api/v1/subjects",
        &auth,
        r#"{"data": {"contact": {"email": "not-an-email-Қуанышбекова"}}}"#,
    );
    https(
        &addr,
        &cert,
        "POST",
        "/api/v1/staff/sessions",
        &[],
        r#"{"login": "admin", "password": "Уникальный-пароль-XYZ-42", "code": "123456"}"#,
    );
    let metrics = https(&addr, &cert, "GET", "/metrics", &[], "");
    assert!(metrics.contains("vintrova_http_requests_total"));

    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    let logs = reader.join().unwrap();
    let mut distinctive: Vec<&str> = SEED_VALUES.to_vec();
    distinctive.extend([
        "Әлихан",
        "alikhan.unique.logcheck",
        "Уникальный-пароль",
        "Прошу копию",
    ]);
    for value in distinctive {
        assert!(
            !contains(&logs, value.as_bytes()),
            "the server log carries `{value}`"
        );
    }
    let text = String::from_utf8_lossy(&logs);
    let mut structured = 0;
    for line in text.lines().filter(|l| l.starts_with('{')) {
        let entry: Value = serde_json::from_str(line).expect("every log line is JSON");
        assert!(entry.get("level").is_some() && entry.get("timestamp").is_some());
        structured += 1;
    }
    assert!(
        structured > 5,
        "structured request logs were written: {text}"
    );
    // Issue 19: after a journey — serve over TLS, accounts, mail through the outbox, and a
    // backup written into the data directory — everything in it is its owner's alone.
    install.ok(&["outbox", "deliver"], None);
    let backup = install.data().join("nightly.vbak");
    install.ok(
        &["backup", "create", "--out", backup.to_str().unwrap()],
        None,
    );
    assert!(install.data().join("tls").exists() && backup.exists());
    assert_owner_only(&install.data());
}

/// Every directory under `dir` is mode 0700 and every file 0600 or tighter.
fn assert_owner_only(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut seen = 0;
    let mut paths = vec![dir.to_path_buf()];
    while let Some(path) = paths.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{} is {mode:o}", path.display());
            paths.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 3, "the data directory holds files: {seen}");
}

/// Issue 19: files fit for secrets, and commands that behave. A data directory someone made
/// looser is tightened with a warning; a command that only reads refuses a data directory that
/// does not exist instead of creating an empty installation that "verifies"; a closed output
/// pipe ends a command quietly with the usual code; `retention run --as-of` takes today.
#[test]
fn a_loose_data_directory_is_tightened_reads_need_an_installation_and_closed_pipes_are_quiet() {
    use std::os::unix::fs::PermissionsExt;
    let install = Install::new();
    install.add(SEED);
    std::fs::set_permissions(install.data(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = install.data().join("vintrova.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let verified = install.run(&["audit", "verify"], None);
    assert!(verified.status.success());
    assert!(
        String::from_utf8_lossy(&verified.stderr).contains("now owner-only"),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert_owner_only(&install.data());

    let typo = install.dir.path().join("vintrova-dta");
    for args in [
        &["audit", "verify"][..],
        &["audit", "head"],
        &["subject", "show", "x", "--purpose", "support"],
    ] {
        let refused = Command::new(BIN)
            .arg("--data-dir")
            .arg(&typo)
            .args(args)
            .env_remove("VINTROVA_DATABASE_URL")
            .output()
            .unwrap();
        assert_eq!(refused.status.code(), Some(1), "{args:?}");
        assert!(String::from_utf8_lossy(&refused.stderr).contains("there is no data directory"));
        assert!(!typo.exists(), "{args:?} created an installation");
    }

    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let closed = Command::new(BIN)
        .args(["staff", "matrix"])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(closed.status.code(), Some(141));
    assert!(
        !String::from_utf8_lossy(&closed.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&closed.stderr)
    );

    let almaty = jiff::tz::TimeZoneDatabase::bundled()
        .get("Asia/Almaty")
        .unwrap();
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(almaty)
        .date()
        .to_string();
    install.ok(&["retention", "run", "--as-of", &today], None);
}

#[test]
fn staff_incidents_and_assessments_from_the_command_line() {
    let install = Install::new();
    let out = install.run(&["staff", "add", "s.agent", "--role", "support"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("/staff/enroll?token="));
    let staff: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = staff["staff"].as_str().unwrap();
    let member: Value = serde_json::from_str(&install.ok(
        &[
            "staff",
            "paperwork",
            id,
            "--kind",
            "agreement",
            "--on",
            "2026-01-15",
            "--reference",
            "NDA-7",
        ],
        None,
    ))
    .unwrap();
    assert_eq!(member["paperwork"]["agreement"]["reference"], "NDA-7");
    let bad = install.run(&["staff", "add", "x@mail.kz", "--role", "support"], None);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("login"));

    let subject = install.add(SEED);
    let report = format!(
        r#"{{"detected_at": "2026-11-20T05:00:00Z", "description": "Misdirected support export", "categories": ["contact"], "subjects": ["{subject}"]}}"#
    );
    let incident: Value =
        serde_json::from_str(&install.ok(&["incident", "report", "-"], Some(report.as_bytes())))
            .unwrap();
    // Friday 20 November 2026: due at the end of Monday 23 November, Almaty.
    assert_eq!(incident["authority"]["due_at"], "2026-11-23T19:00:00Z");
    let incident_id = incident["id"].as_str().unwrap();
    let notices: Value =
        serde_json::from_str(&install.ok(&["incident", "notify", incident_id], None)).unwrap();
    assert_eq!(notices["queued"], 1);
    let list: Value = serde_json::from_str(&install.ok(&["incident", "list"], None)).unwrap();
    assert_eq!(list[0]["subjects_notified"], 1);

    let assessment = r#"{"kind": "security_audit", "conducted_on": "2026-10-01", "scope": "TLS and sessions", "conducted_by": "internal", "findings": ["HSTS preload not requested"], "follow_ups": [{"action": "Request preload", "due_on": "2026-12-31"}]}"#;
    let recorded: Value = serde_json::from_str(
        &install.ok(&["assessment", "record", "-"], Some(assessment.as_bytes())),
    )
    .unwrap();
    assert_eq!(recorded["findings"][0], "HSTS preload not requested");
    assert!(install.audit_entries().contains("entries"));
    let matrix = install.ok(&["staff", "matrix"], None);
    assert_eq!(
        matrix,
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/ACCESS.md"))
            .unwrap()
    );
}

/// The browser journeys (e2e/journeys.test.mjs): playwright-core drives Debian's Chromium
/// against this binary. Chromium and Node are required, like PostgreSQL: the test fails, never
/// skips, and says how to install what is missing.
#[test]
fn the_browser_journeys_pass_in_chromium() {
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../e2e");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "the browser journeys need Chromium at {chromium}: `apt-get install -y chromium` (.ci/run does it)"
    );
    // A checkout installed before axe-core joined the journeys installs again.
    if ["playwright-core", "axe-core"]
        .iter()
        .any(|package| !e2e.join("node_modules").join(package).exists())
    {
        let installed = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&e2e)
            .output()
            .expect("npm runs (Node 20 is needed for the browser journeys)");
        assert!(
            installed.status.success(),
            "npm ci failed: {}",
            String::from_utf8_lossy(&installed.stderr)
        );
    }
    let run = Command::new("node")
        .args(["--test", "journeys.test.mjs"])
        .current_dir(&e2e)
        .env("VINTROVA_BIN", BIN)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs");
    assert!(
        run.status.success(),
        "the browser journeys failed:\n{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn policy_versions_are_diffed_published_thirty_days_ahead_and_listed() {
    let install = Install::new();
    install.add(SEED);
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../policy/vintrova.toml"
    ))
    .unwrap();
    let next = shipped
        .replacen("version = \"", "version = \"cli-next-", 1)
        .replacen("term = \"P3Y\"", "term = \"P4Y\"", 1);
    let file = install.dir.path().join("next.toml");
    std::fs::write(&file, next).unwrap();
    let file = file.to_str().unwrap();
    let diff: Value =
        serde_json::from_str(&install.ok(&["policy", "diff", "--file", file], None)).unwrap();
    assert!(
        diff["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["area"] == "retention" && c["material"] == true)
    );
    let almaty = jiff::tz::TimeZone::get("Asia/Almaty").unwrap();
    let today = jiff::Timestamp::now().to_zoned_datetime(almaty).date();
    let day = |n: i64| {
        today
            .checked_add(jiff::Span::new().days(n))
            .unwrap()
            .to_string()
    };
    let early = install.run(
        &["policy", "publish", "--file", file, "--effective", &day(29)],
        None,
    );
    assert!(!early.status.success());
    assert!(String::from_utf8_lossy(&early.stderr).contains("effective"));
    let published: Value = serde_json::from_str(&install.ok(
        &["policy", "publish", "--file", file, "--effective", &day(30)],
        None,
    ))
    .unwrap();
    assert_eq!(published["material"], true);
    let list: Value = serde_json::from_str(&install.ok(&["policy", "list"], None)).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let announce: Value = serde_json::from_str(&install.ok(
        &["policy", "announce", published["version"].as_str().unwrap()],
        None,
    ))
    .unwrap();
    assert_eq!(
        announce["queued"], 0,
        "everyone was told when it was published"
    );
    assert_eq!(announce["already_told"], 1);
}

#[test]
fn the_server_warns_when_the_primary_database_is_declared_outside_kazakhstan() {
    let install = Install::new();
    let (mut child, _, seen) =
        serve_until_listening(&install, &[("VINTROVA_STORAGE_COUNTRY", "DE")]);
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    child.wait().unwrap();
    assert!(
        seen.contains("WARNING: the primary database is declared to be in DE"),
        "{seen}"
    );
}

/// Issue 20: no log line holds a credential, at any level — neither the API token nor a
/// download link's token (a request's URI is logged by its route template only), nor what an
/// argument or a refused value carried.
#[test]
fn no_log_line_holds_a_bearer_or_download_token_even_at_trace_level() {
    let install = Install::new();
    let (mut child, addr, mut said) = serve_until_listening(&install, &[("VINTROVA_LOG", "trace")]);
    let token = std::fs::read_to_string(install.data().join("api-token")).unwrap();
    let token = token.trim();
    let download = "dl-token-Zq8x4Ww1rT5yU7iO9pA2sD4fG6hJ8kL0";
    for request in [
        format!(
            "GET /api/v1/downloads/{download}?format=json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ),
        format!(
            "GET /api/v1/catalog HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        ),
        format!(
            "GET /password-reset/confirm?token={download} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ),
    ] {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 "), "{response}");
    }
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    child.wait().unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    assert!(said.contains("request"), "trace logs were written: {said}");
    assert!(
        !said.contains(download),
        "a download token in the log:\n{said}"
    );
    assert!(!said.contains(token), "the API token in the log");
}

/// Issue 20: an argument passes the edge's one text rule before any command sees it.
#[test]
fn an_argument_with_a_control_or_bidi_character_is_refused_by_position_not_repeated() {
    let install = Install::new();
    for bad in ["marker\u{202E}", "marker\u{1b}[2J", "marker\u{200B}"] {
        let out = install.run(&["subject", "show", bad], None);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("argument"), "{stderr}");
        assert!(!stderr.contains("marker"), "{stderr}");
    }
    // A message on stdin may span lines, but never carry a NUL.
    let out = install.run(
        &[
            "ticket",
            "open",
            "0193a5b2-7c1e-7d40-9a2b-3c4d5e6f7a8b",
            "--title",
            "t",
        ],
        Some(b"two\nlines\0marker"),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("NUL"), "{stderr}");
    assert!(!stderr.contains("marker"), "{stderr}");
}

/// Issue 23: the systemd unit in `docs/` is the hardened one the README promises, and systemd
/// itself (where this machine has it) reads it without a complaint.
#[test]
fn the_systemd_unit_runs_serve_as_its_own_user_in_a_private_hardened_sandbox() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/vintrova.service"),
    )
    .unwrap();
    let settings: Vec<&str> = unit
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .collect();
    for wanted in [
        "User=vintrova",
        "StateDirectory=vintrova",
        "StateDirectoryMode=0700",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "KillSignal=SIGTERM",
        "CapabilityBoundingSet=",
        "ExecStart=/usr/local/bin/vintrova serve",
    ] {
        assert!(settings.contains(&wanted), "{wanted} in the unit");
    }
    if Path::new("/usr/bin/systemd-analyze").exists() {
        let dir = tempfile::tempdir().unwrap();
        let here = dir.path().join("vintrova.service");
        std::fs::write(&here, unit.replace("/usr/local/bin/vintrova", BIN)).unwrap();
        let verified = Command::new("/usr/bin/systemd-analyze")
            .arg("verify")
            .arg(&here)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&verified.stderr);
        assert!(
            verified.status.success() && !said.contains("vintrova.service:"),
            "systemd reads the unit: {said}"
        );
    }
}

/// Issue 23: `config check` on the README's own example prints the merged settings — the
/// environment over the file, a flag over both, secrets in files shown by path and a secret
/// written in the file masked — and a wrong key is refused with its path.
#[test]
fn config_check_prints_the_readme_example_merged_and_refuses_a_wrong_key_by_its_path() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let example = readme
        .split("<!-- config-example -->\n```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```\n<!-- /config-example -->").next())
        .expect("the README carries the example");
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    let data = dir.path().join("data");
    for sub in ["tls", "witness"] {
        std::fs::create_dir_all(etc.join(sub)).unwrap();
    }
    std::fs::create_dir_all(data.join("shared")).unwrap();
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy/vintrova.toml");
    std::fs::copy(&policy, etc.join("policy.toml")).unwrap();
    std::fs::write(etc.join("calendar.toml"), "holidays = []\nworkdays = []\n").unwrap();
    for file in ["tls/fullchain.pem", "tls/privkey.pem"] {
        std::fs::write(etc.join(file), "not read by the check").unwrap();
    }
    std::fs::write(
        etc.join("database-url"),
        format!("sqlite://{}/vintrova.db\n", data.display()),
    )
    .unwrap();
    std::fs::write(
        etc.join("smtp-url"),
        "smtps://user:mail-secret@mail.kz:465\n",
    )
    .unwrap();
    let file = dir.path().join("vintrova.toml");
    let written = example
        .replace("/etc/vintrova", &etc.display().to_string())
        .replace("/var/lib/vintrova", &data.display().to_string());
    std::fs::write(&file, &written).unwrap();
    let check = |file: &Path, envs: &[(&str, &str)], flags: &[&str]| {
        Command::new(BIN)
            .arg("--config")
            .arg(file)
            .args(flags)
            .args(["config", "check"])
            .env_remove("VINTROVA_DATABASE_URL")
            .env_remove("VINTROVA_DATA_DIR")
            .envs(envs.iter().copied())
            .output()
            .unwrap()
    };
    let out = check(
        &file,
        &[("VINTROVA_LISTEN", "127.0.0.1:9443")],
        &["--data-dir", "/srv/flag"],
    );
    let (shown, said) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{shown}\n{said}");
    assert!(said.contains("Configuration is valid."), "{said}");
    for merged in [
        "listen = \"127.0.0.1:9443\"",
        "data_dir = \"/srv/flag\"",
        "public_url = \"https://privacy.vintrova.kz\"",
        "trusted_proxies = [\"10.0.0.5\"]",
        "mail = true",
        "timeout_seconds = 10",
        "/shared/erasures.journal\"",
    ] {
        assert!(shown.contains(merged), "{merged} in:\n{shown}");
    }
    assert!(
        shown.contains(&format!("file = \"{}/smtp-url\"", etc.display()))
            && !shown.contains("mail-secret"),
        "a secret in a file is shown by its path: {shown}"
    );

    // A secret written in the file is masked; a missing file is a problem named by its key.
    let plain = written
        .replace(
            &format!("url = {{ file = \"{}/smtp-url\" }}", etc.display()),
            "url = \"smtps://user:plain-secret@mail.kz:465\"",
        )
        .replace("tls/privkey.pem", "tls/missing.pem")
        .replace("timeout_seconds = 10", "timeout_seconds = 500");
    std::fs::write(&file, plain).unwrap();
    let out = check(&file, &[], &[]);
    let (shown, said) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(shown.contains("url = \"********\"") && !shown.contains("plain-secret"));
    assert!(
        said.contains("problem: `server.tls_key`: no such file"),
        "{said}"
    );
    assert!(
        said.contains("problem: `webhooks.timeout_seconds`: 500 is not between 1 and 120"),
        "{said}"
    );

    // A wrong key: refused with its path, nothing else said of the settings.
    std::fs::write(&file, written.replace("listen =", "lisen =")).unwrap();
    let out = check(&file, &[], &[]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(said.contains("configuration key `server.lisen`"), "{said}");
}

/// Issue 23: `serve` takes its settings from `DATA_DIR/vintrova.toml` when nothing else says
/// otherwise.
#[test]
fn serve_reads_its_settings_from_the_data_directorys_file() {
    let install = Install::new();
    std::fs::create_dir_all(install.data()).unwrap();
    std::fs::write(
        install.data().join("vintrova.toml"),
        "[server]\npublic_url = \"https://from-the-file.vintrova.kz\"\n",
    )
    .unwrap();
    let (mut child, _, seen) = serve_until_listening(&install, &[]);
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    child.wait().unwrap();
    assert!(
        seen.contains("https://from-the-file.vintrova.kz/staff/enroll"),
        "the enrollment link points where the file says: {seen}"
    );
}

/// Issue 23: `webhook verify` is the receiver's check — a message signed with one of the
/// secrets in force (the old or the new, during a rotation) and fresh is accepted; an altered
/// body, another secret or an old timestamp is refused with exit 4.
#[test]
fn webhook_verify_accepts_what_we_sign_and_refuses_an_altered_or_old_message() {
    use vintrova_core::webhooks::{Secret, signature_header};
    let install = Install::new();
    let (old, new) = (Secret::generate().unwrap(), Secret::generate().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("webhook.secret");
    std::fs::write(&file, new.reveal()).unwrap();
    let body = br#"{"type":"consent.withdrawn","subject":"0193a5b2-7c1e-7d40-9a2b-3c4d5e6f7a8b"}"#;
    let now = jiff::Timestamp::now().as_second();
    let header = signature_header(&[old, new.clone()], "evt_01", now, body);
    let verify = |timestamp: i64, body: &[u8], secret_file: &Path| {
        install.run(
            &[
                "webhook",
                "verify",
                "--id",
                "evt_01",
                "--timestamp",
                &timestamp.to_string(),
                "--signature",
                &header,
                "--secret-file",
                secret_file.to_str().unwrap(),
            ],
            Some(body),
        )
    };
    let ok = verify(now, body, &file);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(verify(now, b"{}", &file).status.code(), Some(4), "altered");
    assert_eq!(
        verify(now - 3600, body, &file).status.code(),
        Some(4),
        "an hour old"
    );
    let other = dir.path().join("other.secret");
    std::fs::write(&other, Secret::generate().unwrap().reveal()).unwrap();
    let refused = verify(now, body, &other);
    assert_eq!(refused.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no `v1` signature matches"));
}

/// Issue 23: an endpoint added from the command line hears of the changes it subscribed to —
/// from `webhook deliver`, and from `serve`'s own round while it runs — each once, signed so
/// that `webhook verify` (the receiver's check) accepts it, with ids and no value of a person.
fn the_platform_hears_of_changes_signed_from_the_cli_and_from_serve(install: &Install) {
    use vintrova_store_tests::receiver::HttpReceiver;
    let receiver = HttpReceiver::start();
    let secret = install.dir.path().join("endpoint.secret");
    let added: Value = serde_json::from_str(&install.ok(
        &[
            "webhook",
            "add",
            "--url",
            &receiver.url,
            "--kinds",
            "consent.withdrawn,subject.erased",
            "--secret-file",
            secret.to_str().unwrap(),
        ],
        None,
    ))
    .unwrap();
    assert!(added["secret"].as_str().unwrap().starts_with("written to"));
    assert_eq!(
        std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let id = install.add(SEED);
    install.ok(
        &[
            "subject",
            "consent",
            &id,
            "--purpose",
            "phone_number",
            "--withdraw",
        ],
        None,
    );
    let round: Value =
        serde_json::from_str(&install.ok(&["webhook", "deliver", "--timeout", "5"], None)).unwrap();
    assert_eq!(round["delivered"], 1, "{round}");
    let got = receiver
        .next(std::time::Duration::from_secs(5))
        .expect("the receiver got the withdrawal");
    let verified = install.run(
        &[
            "webhook",
            "verify",
            "--id",
            got.header("webhook-id"),
            "--timestamp",
            got.header("webhook-timestamp"),
            "--signature",
            got.header("webhook-signature"),
            "--secret-file",
            secret.to_str().unwrap(),
        ],
        Some(&got.body),
    );
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
    let body: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body["type"], "consent.withdrawn");
    assert_eq!(body["data"]["subject"], id.as_str());
    assert_pd_free(&got.body, &["the webhook body"]);

    // `serve` delivers on its own, within its five-second round.
    let (mut server, _, _) = serve_until_listening(install, &[]);
    let receipt: Value =
        serde_json::from_str(&install.ok(&["subject", "erase", &id], None)).unwrap();
    let got = receiver
        .next(std::time::Duration::from_secs(30))
        .expect("serve delivered the erasure");
    Command::new("kill")
        .arg(server.id().to_string())
        .status()
        .unwrap();
    server.wait().unwrap();
    let body: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body["type"], "subject.erased");
    assert_eq!(body["data"]["subject"], id.as_str());
    assert!(
        receipt
            .to_string()
            .contains(body["data"]["receipt"]["id"].as_str().unwrap())
    );
    let listed: Value = serde_json::from_str(&install.ok(&["webhook", "list"], None)).unwrap();
    assert_eq!(
        (
            listed[0]["delivered"].as_i64(),
            listed[0]["waiting"].as_i64()
        ),
        (Some(2), Some(0))
    );
    assert!(receiver.drain().is_empty(), "each event once");
}

#[test]
fn the_platform_hears_of_changes_signed_from_the_cli_and_from_serve_on_sqlite() {
    the_platform_hears_of_changes_signed_from_the_cli_and_from_serve(&Install::new());
}

#[test]
fn the_platform_hears_of_changes_signed_from_the_cli_and_from_serve_on_postgresql() {
    let (rt, pool, database, url) = fresh_postgres_database();
    let mut install = Install::new();
    install.extra = vec!["--database-url".into(), url];
    the_platform_hears_of_changes_signed_from_the_cli_and_from_serve(&install);
    rt.block_on(
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE {database} WITH (FORCE)"
        )))
        .execute(&pool),
    )
    .unwrap();
}

/// A registration as the platform's back end sends it.
fn registration(email: &str) -> String {
    serde_json::json!({
        "data": {"contact": {"first_name": "Ерлан", "email": email}},
        "source": "registration_form",
        "bases": [{"kind": "contract_started"}],
        "consents": ["contact_data"],
        "channel": "form"
    })
    .to_string()
}

/// Issue 23: two `serve` processes on one PostgreSQL, the second given nothing but the first's
/// master key: the platform's one token works on both, an order made on one is paid by the
/// provider's callback to the other, and an erasure on the second is honoured by a restore on
/// the first (the erasure journal is shared by configuration, as "Running several servers"
/// says).
#[test]
fn two_servers_on_one_postgresql_share_every_secret_but_the_master_key_file() {
    use std::os::unix::fs::DirBuilderExt;
    use vintrova_core::payments::{DevProvider, Outcome};
    let (rt, pool, database, url) = fresh_postgres_database();
    let shared = tempfile::tempdir().unwrap();
    let journal = shared.path().join("erasures.journal");
    let install = || Install {
        dir: tempfile::tempdir().unwrap(),
        extra: vec![
            "--database-url".into(),
            url.clone(),
            "--erasure-journal".into(),
            journal.to_str().unwrap().into(),
        ],
    };
    let (a, b) = (install(), install());
    let (mut server_a, addr_a, _) = serve_until_listening(&a, &[]);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(b.data())
        .unwrap();
    std::fs::copy(a.data().join("master.key"), b.data().join("master.key")).unwrap();
    let (mut server_b, addr_b, _) = serve_until_listening(&b, &[]);
    let read = |install: &Install, file: &str| {
        std::fs::read_to_string(install.data().join(file))
            .unwrap()
            .trim()
            .to_string()
    };
    let token = read(&a, "api-token");
    assert_eq!(
        read(&b, "api-token"),
        token,
        "one token for the installation"
    );
    let bearer = format!("Bearer {token}");
    let auth = [("Authorization", bearer.as_str())];
    let register = |addr: &str, email: &str| {
        let (status, text) = http(
            addr,
            "POST",
            "/api/v1/subjects",
            &auth,
            &registration(email),
        );
        assert_eq!(status, 201, "{addr}: {text}");
        serde_json::from_str::<Value>(&text).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first = register(&addr_a, "first.server.test@mail.kz");
    let second = register(&addr_b, "second.server.test@mail.kz");

    // Ordered on one server, paid by the provider's callback to the other.
    let (status, text) = http(
        &addr_a,
        "POST",
        &format!("/api/v1/subjects/{second}/orders"),
        &auth,
        r#"{"amount": 4500000, "currency": "KZT", "method": "card"}"#,
    );
    assert_eq!(status, 201, "{text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    let reference = created["checkout_url"]
        .as_str()
        .unwrap()
        .split("/checkout/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        read(&b, "payment-provider.secret"),
        read(&a, "payment-provider.secret")
    );
    let secret: [u8; 32] = hex::decode(read(&a, "payment-provider.secret"))
        .unwrap()
        .try_into()
        .unwrap();
    let (body, signature) = DevProvider::new(secret).callback(
        &reference,
        Outcome::Succeeded {
            card_last4: Some("4242".into()),
        },
    );
    let (status, text) = http(
        &addr_b,
        "POST",
        "/api/v1/payments/callback",
        &[("vintrova-signature", signature.as_str())],
        std::str::from_utf8(&body).unwrap(),
    );
    assert_eq!(
        status, 200,
        "the other server accepts the provider's signature: {text}"
    );
    let (_, orders) = http(
        &addr_a,
        "GET",
        &format!("/api/v1/subjects/{second}/orders"),
        &auth,
        "",
    );
    assert_eq!(
        serde_json::from_str::<Value>(&orders).unwrap()[0]["state"],
        "paid"
    );

    // A backup from the first, an erasure on the second, a restore on the first.
    let file = a.dir.path().join("nightly.vbak");
    let file_arg = file.to_str().unwrap();
    a.ok(&["backup", "create", "--out", file_arg], None);
    let (status, text) = http(
        &addr_b,
        "DELETE",
        &format!("/api/v1/subjects/{first}"),
        &auth,
        "",
    );
    assert_eq!(status, 200, "{text}");
    for server in [&mut server_a, &mut server_b] {
        Command::new("kill")
            .arg(server.id().to_string())
            .status()
            .unwrap();
        assert!(server.wait().unwrap().success());
    }
    let restored: Value =
        serde_json::from_str(&a.ok(&["backup", "restore", file_arg], None)).unwrap();
    assert_eq!(restored["journal_missing"], false);
    assert_eq!(restored["erasures_reapplied"], 1, "{restored}");
    assert_eq!(
        a.run(&["subject", "export", &first], None).status.code(),
        Some(3),
        "the person erased on the other server stays erased"
    );
    rt.block_on(
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE {database} WITH (FORCE)"
        )))
        .execute(&pool),
    )
    .unwrap();
}

/// Issue 23: the receiver's verification snippet in the README, run as written by Python,
/// accepts what we sign and refuses an altered body or another secret.
#[test]
fn the_readmes_python_snippet_verifies_what_we_sign() {
    use vintrova_core::webhooks::{Secret, signature_header};
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let snippet = readme
        .split("```python\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README shows the receiver's snippet");
    let secret = Secret::generate().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let body = br#"{"type":"consent.withdrawn","data":{"purpose":"notifications"}}"#;
    let header = signature_header(std::slice::from_ref(&secret), "evt-7", now, body);
    let check = |secret: &str, body: &[u8]| {
        let script = format!(
            "{snippet}\nimport sys\nheaders = {{'webhook-id': 'evt-7', 'webhook-timestamp': '{now}', 'webhook-signature': '{header}'}}\nsys.exit(0 if verify('{secret}', headers, sys.stdin.buffer.read()) else 1)\n"
        );
        let mut child = Command::new("python3")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        child.stdin.take().unwrap().write_all(body).unwrap();
        child.wait().unwrap().code()
    };
    assert_eq!(check(&secret.reveal(), body), Some(0), "accepted");
    assert_eq!(check(&secret.reveal(), b"{}"), Some(1), "an altered body");
    let other = Secret::generate().unwrap();
    assert_eq!(check(&other.reveal(), body), Some(1), "another secret");
}

/// A dovecot of the test's own on 127.0.0.1, over TLS with a certificate openssl makes for the
/// test, with one account whose Maildir the test puts letters into (its file time is the
/// letter's arrival, as IMAP's INTERNALDATE reports it). Stopped when dropped.
struct Dovecot {
    child: std::process::Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Dovecot {
    fn start() -> Dovecot {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        for sub in [
            "run",
            "state",
            "home/vintrova/Maildir/new",
            "home/vintrova/Maildir/cur",
            "home/vintrova/Maildir/tmp",
        ] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        let made = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args([
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost",
                // A server's certificate, not an authority's: what TLS clients accept as one.
                "-addext",
                "basicConstraints=critical,CA:FALSE",
                "-addext",
                "extendedKeyUsage=serverAuth",
            ])
            .arg("-keyout")
            .arg(root.join("key.pem"))
            .arg("-out")
            .arg(root.join("cert.pem"))
            .output()
            .expect("openssl makes the test's certificate");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        std::fs::write(
            root.join("passwd"),
            "vintrova:{PLAIN}mailbox-secret::::::\n",
        )
        .unwrap();
        // As root (CI), dovecot's own users; otherwise everything runs as whoever runs the test.
        let me = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let (mail_user, login_user) = match me.as_str() {
            "root" => ("dovecot", "dovenull"),
            user => (user, user),
        };
        if me == "root" {
            Command::new("chown")
                .args(["-R", "dovecot:dovecot"])
                .arg(root.join("home"))
                .status()
                .unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let r = root.display();
        std::fs::write(
            root.join("dovecot.conf"),
            format!(
                "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {r}/run\nstate_dir = {r}/state\n\
                 log_path = {r}/dovecot.log\nssl = required\nssl_cert = <{r}/cert.pem\nssl_key = <{r}/key.pem\n\
                 auth_mechanisms = plain\n\
                 passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {r}/passwd\n}}\n\
                 userdb {{\n  driver = static\n  args = uid={mail_user} gid={mail_user} home={r}/home/%u\n}}\n\
                 mail_location = maildir:~/Maildir\nfirst_valid_uid = 0\nfirst_valid_gid = 0\n\
                 default_internal_user = {mail_user}\ndefault_login_user = {login_user}\n\
                 service imap-login {{\n  inet_listener imap {{\n    port = 0\n  }}\n  inet_listener imaps {{\n    port = {port}\n    ssl = yes\n  }}\n}}\n"
            ),
        )
        .unwrap();
        let child = Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(root.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot is installed (apt-get install dovecot-imapd; .ci/run does)");
        // Ready when it listens: a daemon of its own starting up, probed a bounded number of times.
        let listening = (0..200).any(|_| {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() || {
                std::thread::sleep(std::time::Duration::from_millis(25));
                false
            }
        });
        assert!(
            listening,
            "dovecot did not listen: {:?}",
            std::fs::read_to_string(root.join("dovecot.log"))
        );
        Dovecot { child, dir, port }
    }

    fn url(&self) -> String {
        format!(
            "imaps://vintrova:mailbox-secret@localhost:{}/INBOX",
            self.port
        )
    }

    fn ca(&self) -> String {
        self.dir.path().join("cert.pem").display().to_string()
    }

    /// Put a letter in the mailbox as arrived at `arrived`.
    fn deliver(&self, name: &str, raw: &str, arrived: std::time::SystemTime) {
        let maildir = self.dir.path().join("home/vintrova/Maildir");
        let tmp = maildir.join("tmp").join(name);
        std::fs::write(&tmp, raw).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&tmp)
            .unwrap()
            .set_modified(arrived)
            .unwrap();
        std::fs::rename(&tmp, maildir.join("new").join(name)).unwrap();
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// Issue 23: a letter placed in the mailbox becomes a letter in the inbox with the mail
/// server's arrival time, once though two servers read the mailbox at the same moment;
/// classified as a request for information, its code goes to the sender, and the request it
/// becomes counts its 30 days from the letter's arrival, three days before anyone read it.
fn a_letter_in_the_mailbox_becomes_one_request_counted_from_its_arrival(
    first: &Install,
    second: &Install,
) {
    let dovecot = Dovecot::start();
    let arrived = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 24 * 3600);
    dovecot.deliver(
        "1.letter",
        "From: Zhansaya <zhansaya.mailbox.test@mail.kz>\r\nTo: info@vintrova.com\r\n\
         Subject: =?UTF-8?B?0JfQsNC/0YDQvtGBINGB0LLQtdC00LXQvdC40Lk=?=\r\n\
         Message-ID: <mailbox-test-1@mail.kz>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Прошу сообщить, какие мои данные вы храните.\r\n",
        arrived,
    );
    let (url, ca) = (dovecot.url(), dovecot.ca());
    let env = [("VINTROVA_IMAP_URL", url.as_str())];
    let read = |install: &Install| {
        let mut cmd = Command::new(BIN);
        cmd.arg("--data-dir")
            .arg(install.data())
            .args(&install.extra)
            .args(["inbox", "read"])
            .env_remove("VINTROVA_DATABASE_URL")
            .envs(env.iter().copied())
            .env("VINTROVA_CONFIG", install.dir.path().join("imap.toml"));
        std::fs::write(
            install.dir.path().join("imap.toml"),
            format!("[imap]\nca_file = \"{ca}\"\n"),
        )
        .unwrap();
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Both servers at once.
    let (one, two) = (read(first), read(second));
    let (one, two) = (
        one.wait_with_output().unwrap(),
        two.wait_with_output().unwrap(),
    );
    for out in [&one, &two] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_pd_free(&out.stderr, &["inbox read"]);
    }
    let new = |out: &Output| -> i64 {
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["new_letters"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(
        new(&one) + new(&two),
        1,
        "one letter, whichever server took it"
    );
    let inbox: Value = serde_json::from_str(&first.ok(&["inbox", "list"], None)).unwrap();
    assert_eq!(inbox.as_array().unwrap().len(), 1, "{inbox}");
    assert_eq!(inbox[0]["locale"], "ru");
    let received: jiff::Timestamp = inbox[0]["received_at"].as_str().unwrap().parse().unwrap();
    let expected = jiff::Timestamp::try_from(arrived).unwrap();
    assert!(
        (received - expected).abs() < jiff::SignedDuration::from_secs(2),
        "{received} is the arrival {expected}"
    );
    assert!(
        !inbox.to_string().contains("zhansaya"),
        "the list names nobody"
    );
    let letter = inbox[0]["id"].as_str().unwrap().to_string();
    let shown: Value = serde_json::from_str(&first.ok(&["inbox", "show", &letter], None)).unwrap();
    assert_eq!(shown["from"], "zhansaya.mailbox.test@mail.kz");
    assert_eq!(shown["subject"], "Запрос сведений");

    let held: Value = serde_json::from_str(&first.ok(
        &["inbox", "classify", &letter, "--right", "information"],
        None,
    ))
    .unwrap();
    assert_eq!(held["id"], letter.as_str());
    first.ok(&["outbox", "deliver"], None);
    let code = first
        .mails()
        .iter()
        .find_map(|mail| code_in(&std::fs::read_to_string(mail).unwrap()))
        .expect("the code went to the sender");
    let verified: Value =
        serde_json::from_str(&first.ok(&["request", "verify", &letter, "--code", &code], None))
            .unwrap();
    let counted: jiff::Timestamp = verified["received_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        counted, received,
        "the 30 days count from the letter's arrival"
    );
    let listed: Value = serde_json::from_str(&first.ok(&["request", "list"], None)).unwrap();
    assert!(listed[0]["days_left"].as_i64().unwrap() < 30, "{listed}");
    // Read again: nothing new; the letter was flagged on the server.
    let again = read(second).wait_with_output().unwrap();
    assert_eq!(new(&again), 0);
}

#[test]
fn a_letter_in_the_mailbox_becomes_one_request_counted_from_its_arrival_on_sqlite() {
    let install = Install::new();
    install.ok(&["outbox", "status"], None);
    a_letter_in_the_mailbox_becomes_one_request_counted_from_its_arrival(&install, &install);
}

#[test]
fn a_letter_in_the_mailbox_becomes_one_request_counted_from_its_arrival_on_two_postgresql_servers()
{
    use std::os::unix::fs::DirBuilderExt;
    let (rt, pool, database, url) = fresh_postgres_database();
    let install = || Install {
        dir: tempfile::tempdir().unwrap(),
        extra: vec!["--database-url".into(), url.clone()],
    };
    let (first, second) = (install(), install());
    first.ok(&["outbox", "status"], None);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(second.data())
        .unwrap();
    std::fs::copy(
        first.data().join("master.key"),
        second.data().join("master.key"),
    )
    .unwrap();
    a_letter_in_the_mailbox_becomes_one_request_counted_from_its_arrival(&first, &second);
    rt.block_on(
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE {database} WITH (FORCE)"
        )))
        .execute(&pool),
    )
    .unwrap();
}
