//! Staff and the practice's registers: enrollment, two-factor sign-in, lockout, session
//! timeouts, paperwork that opens and closes personal data, incidents on their legal clock,
//! audits and risk assessments.

use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;
use vintrova_core::accounts::AuthError;
use vintrova_core::assessments::{AssessmentKind, AssessmentRecord, FollowUp};
use vintrova_core::incidents::{ClockState, IncidentReport, IncidentStep};
use vintrova_core::rights::RightKind;
use vintrova_core::staff::{
    AccessDenied, Paper, PaperKind, Permission, Role, STAFF_ABSOLUTE, STAFF_IDLE, StaffMember,
    StaffSession, code_at,
};
use vintrova_core::{Actor, CoreError};

use crate::Harness;
use crate::stories::{Recorder, add, aigerim, contract};

fn admin() -> Actor {
    Actor::new("test", "admin")
}

/// A staff member of `role`, enrolled, with the TOTP secret to sign in with.
pub async fn enrolled(h: &Harness, login: &str, role: Role, password: &str) -> (Uuid, String) {
    let enrollment = h.app.add_staff(&admin(), login, role).await.unwrap();
    let setup = h.app.enrollment(&enrollment.token).await.unwrap();
    let again = h.app.enrollment(&enrollment.token).await.unwrap();
    assert_eq!(
        setup.secret, again.secret,
        "the link shows one secret until it is used"
    );
    let code = code_at(&setup.secret, h.app.now()).unwrap();
    h.app
        .finish_enrollment(&enrollment.token, password, &code)
        .await
        .unwrap();
    (enrollment.staff, setup.secret)
}

/// Sign in with a code from the next time step, so no code is reused.
pub async fn sign_in(h: &Harness, login: &str, password: &str, secret: &str) -> StaffSession {
    h.clock.advance(SignedDuration::from_secs(30));
    let code = code_at(secret, h.app.now()).unwrap();
    h.app.staff_sign_in(login, password, &code).await.unwrap()
}

/// Agreement and training on record as of `on`.
pub async fn paperwork(h: &Harness, staff: Uuid, on: jiff::civil::Date) -> StaffMember {
    for kind in [PaperKind::Agreement, PaperKind::Training] {
        h.app
            .record_paperwork(
                &admin(),
                staff,
                Paper {
                    kind,
                    on,
                    reference: "HR-2025/17".into(),
                },
            )
            .await
            .unwrap();
    }
    h.app.staff_member(staff).await.unwrap()
}

fn refused<T: std::fmt::Debug>(r: Result<T, CoreError>) -> bool {
    matches!(r, Err(CoreError::Auth(AuthError::StaffRefused)))
}

pub async fn staff_enroll_sign_in_with_a_second_factor_and_are_locked_after_five_failures(
    h: &Harness,
) {
    let password = "Длинный-пароль-сотрудника";
    let enrollment = h
        .app
        .add_staff(&admin(), "g.sadykova", Role::Dpo)
        .await
        .unwrap();
    assert!(
        h.app
            .add_staff(&admin(), "g.sadykova", Role::Support)
            .await
            .is_err(),
        "a login is unique"
    );
    assert!(
        h.app
            .add_staff(&admin(), "g@mail.kz", Role::Support)
            .await
            .is_err(),
        "a login is a work handle, not an email"
    );
    let setup = h.app.enrollment(&enrollment.token).await.unwrap();
    assert!(
        setup
            .uri
            .starts_with("otpauth://totp/Vintrova:g.sadykova?secret=")
    );
    // A wrong first code does not finish enrollment; the right one does, once.
    assert!(
        h.app
            .finish_enrollment(&enrollment.token, password, "000000")
            .await
            .is_err()
    );
    let code = code_at(&setup.secret, h.app.now()).unwrap();
    let member = h
        .app
        .finish_enrollment(&enrollment.token, password, &code)
        .await
        .unwrap();
    assert!(member.enrolled);
    assert!(matches!(
        h.app.enrollment(&enrollment.token).await,
        Err(CoreError::Gone)
    ));
    // The code used to enroll cannot sign in: each code works once.
    assert!(refused(
        h.app.staff_sign_in("g.sadykova", password, &code).await
    ));

    h.clock.advance(SignedDuration::from_secs(30));
    let code = code_at(&setup.secret, h.app.now()).unwrap();
    assert!(refused(
        h.app
            .staff_sign_in("g.sadykova", "wrong-password-1", &code)
            .await
    ));
    assert!(refused(
        h.app.staff_sign_in("g.sadykova", password, "123456").await
    ));
    assert!(refused(
        h.app.staff_sign_in("nobody.here", password, &code).await
    ));
    let session = h
        .app
        .staff_sign_in("g.sadykova", password, &code)
        .await
        .unwrap();
    assert_eq!(session.member.role, Role::Dpo);
    assert_eq!(
        h.app.staff_session(&session.token).await.unwrap().id,
        member.id
    );

    // Five failures in a row lock the account: even the right password and code are refused
    // for fifteen minutes, with the same words as any failure.
    for _ in 0..5 {
        assert!(refused(
            h.app
                .staff_sign_in("g.sadykova", "wrong-password-1", "111111")
                .await
        ));
    }
    h.clock.advance(SignedDuration::from_secs(30));
    let code = code_at(&setup.secret, h.app.now()).unwrap();
    assert!(refused(
        h.app.staff_sign_in("g.sadykova", password, &code).await
    ));
    assert!(
        h.app
            .staff_member(member.id)
            .await
            .unwrap()
            .locked_until
            .is_some()
    );
    h.clock.advance(SignedDuration::from_mins(15));
    let code = code_at(&setup.secret, h.app.now()).unwrap();
    assert!(
        h.app
            .staff_sign_in("g.sadykova", password, &code)
            .await
            .is_ok()
    );

    // The audit log keeps sign-ins, failures and the lock, by role and id, never the login.
    let log = h.store().audit_page(0, 1000).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|r| r.entry.action.as_str()).collect();
    for action in [
        "add_staff",
        "enroll_staff",
        "staff_sign_in",
        "staff_sign_in_failed",
        "lock_staff",
    ] {
        assert!(actions.contains(&action), "{action} is audited");
    }
    assert!(log.iter().all(|r| !r.entry.actor.contains("sadykova")));
    assert!(
        log.iter()
            .any(|r| r.entry.actor == format!("staff:dpo:{}", member.id))
    );
}

pub async fn staff_sessions_end_after_idle_and_absolute_timeouts_and_when_disabled(h: &Harness) {
    let password = "Длинный-пароль-сотрудника";
    let (id, secret) = enrolled(h, "a.beisenov", Role::Support, password).await;

    let session = sign_in(h, "a.beisenov", password, &secret).await;
    h.clock.advance(STAFF_IDLE - SignedDuration::from_secs(1));
    assert!(
        h.app.staff_session(&session.token).await.is_ok(),
        "used in time"
    );
    h.clock.advance(STAFF_IDLE);
    assert!(
        h.app.staff_session(&session.token).await.is_err(),
        "thirty idle minutes end it"
    );

    // Kept busy, a session still ends twelve hours after sign-in.
    let session = sign_in(h, "a.beisenov", password, &secret).await;
    let started = h.app.now();
    while h.app.now() < started + STAFF_ABSOLUTE - SignedDuration::from_mins(20) {
        h.clock.advance(SignedDuration::from_mins(20));
        assert!(h.app.staff_session(&session.token).await.is_ok());
    }
    h.clock.advance(SignedDuration::from_mins(20));
    assert!(h.app.staff_session(&session.token).await.is_err());

    let session = sign_in(h, "a.beisenov", password, &secret).await;
    h.app.set_staff_active(&admin(), id, false).await.unwrap();
    assert!(
        h.app.staff_session(&session.token).await.is_err(),
        "disabling ends sessions"
    );
    h.clock.advance(SignedDuration::from_secs(30));
    let code = code_at(&secret, h.app.now()).unwrap();
    assert!(refused(
        h.app.staff_sign_in("a.beisenov", password, &code).await
    ));
}

/// Issue 21 (R7.1, item 11): every employee signs (policy §7: "with all employees"). An
/// administrator or an auditor without a confidentiality agreement on record does nothing but
/// read the console's refusal; nobody records their own paperwork; once someone else records
/// the agreement, they act — training is still asked only of those who reach personal data.
pub async fn every_employee_signs_before_acting_and_nobody_records_their_own_paperwork(
    h: &Harness,
) {
    let password = "Длинный-пароль-сотрудника";
    let (admin_id, _) = enrolled(h, "a.root", Role::Admin, password).await;
    let (auditor_id, _) = enrolled(h, "r.auditor", Role::Auditor, password).await;
    for (id, permission) in [
        (admin_id, Permission::ManageStaff),
        (auditor_id, Permission::VerifyAudit),
    ] {
        let member = h.app.staff_member(id).await.unwrap();
        assert!(
            matches!(
                h.app.permit(Some(&member), permission, None),
                Err(CoreError::Denied(AccessDenied::NoAgreement))
            ),
            "{:?} acts only once they signed",
            member.role
        );
        assert!(
            h.app
                .permit(Some(&member), Permission::Console, None)
                .is_ok(),
            "the console still shows them why"
        );
    }
    let member = h.app.staff_member(admin_id).await.unwrap();
    let own = h
        .app
        .record_paperwork(
            &member.actor(),
            admin_id,
            Paper {
                kind: PaperKind::Agreement,
                on: h.app.now().to_zoned_datetime(h.app.policy().zone()).date(),
                reference: "NDA-1".into(),
            },
        )
        .await;
    assert!(
        matches!(&own, Err(CoreError::Invalid(e)) if e.problems[0].field == "staff"),
        "{own:?}"
    );
    let signed = |id| async move {
        h.app
            .record_paperwork(
                &admin(),
                id,
                Paper {
                    kind: PaperKind::Agreement,
                    on: h.app.now().to_zoned_datetime(h.app.policy().zone()).date(),
                    reference: "NDA-2".into(),
                },
            )
            .await
            .unwrap()
    };
    let admin_member = signed(admin_id).await;
    assert!(
        h.app
            .permit(Some(&admin_member), Permission::ManageStaff, None)
            .is_ok()
    );
    let auditor = signed(auditor_id).await;
    assert!(
        h.app
            .permit(Some(&auditor), Permission::VerifyAudit, None)
            .is_ok(),
        "no personal data, so no training asked"
    );
    // The administrator, signed, records the auditor's training: someone else's papers.
    h.app
        .record_paperwork(
            &admin_member.actor(),
            auditor_id,
            Paper {
                kind: PaperKind::Training,
                on: h.app.now().to_zoned_datetime(h.app.policy().zone()).date(),
                reference: "TR-1".into(),
            },
        )
        .await
        .unwrap();
}

pub async fn lapsed_training_refuses_personal_data_the_same_day_with_its_reason(h: &Harness) {
    let password = "Длинный-пароль-сотрудника";
    let (id, _) = enrolled(h, "m.akhmetova", Role::Support, password).await;
    let subject = add(h, aigerim(), contract()).await;
    let member = h.app.staff_member(id).await.unwrap();
    assert!(matches!(
        h.app
            .permit(Some(&member), Permission::ReadSubject, Some("support")),
        Err(CoreError::Denied(AccessDenied::NoAgreement))
    ));
    // Day one is 1 March 2025 (Almaty); training on 1 March 2025 runs through 29 February…
    // there is none in 2026: it lapses on 1 March 2026.
    let member = paperwork(h, id, date(2025, 3, 1)).await;
    assert_eq!(member.paperwork.training_lapses_on, Some(date(2026, 3, 1)));
    let actor = h
        .app
        .permit(Some(&member), Permission::ReadSubject, Some("support"))
        .unwrap()
        .expect("a staff actor");
    h.app.read(&actor, subject, "support").await.unwrap();
    let log = h.store().audit_page(0, 1000).await.unwrap();
    let read = log.iter().rev().find(|r| r.entry.action == "read").unwrap();
    assert_eq!(
        read.entry.purpose.as_deref(),
        Some("support"),
        "the stated purpose is kept"
    );
    assert_eq!(read.entry.actor, format!("staff:support:{id}"));

    // No purpose, or one that is not a purpose: refused by field.
    assert!(matches!(
        h.app.permit(Some(&member), Permission::ReadSubject, None),
        Err(CoreError::Invalid(e)) if e.problems[0].field == "purpose"
    ));
    assert!(
        h.app
            .permit(Some(&member), Permission::ReadSubject, Some("curiosity"))
            .is_err()
    );
    // A support agent never handles rights requests, whatever the paperwork.
    assert!(matches!(
        h.app.permit(
            Some(&member),
            Permission::HandleRequests,
            Some("rights_request")
        ),
        Err(CoreError::Denied(AccessDenied::NotPermitted {
            role: "support",
            ..
        }))
    ));

    // 29 February 2026 does not exist; 28 February 23:59 Almaty still has access…
    h.clock
        .set("2026-02-28T18:59:00Z".parse::<Timestamp>().unwrap());
    let member = h.app.staff_member(id).await.unwrap();
    assert!(
        h.app
            .permit(Some(&member), Permission::ReadSubject, Some("support"))
            .is_ok()
    );
    // …and at 00:00 on 1 March, Almaty, it is gone, with the reason and what restores it.
    h.clock
        .set("2026-02-28T19:00:00Z".parse::<Timestamp>().unwrap());
    let denied = h
        .app
        .permit(Some(&member), Permission::ReadSubject, Some("support"));
    let Err(CoreError::Denied(reason)) = denied else {
        panic!("lapsed training must refuse, got {denied:?}");
    };
    assert_eq!(
        reason,
        AccessDenied::TrainingLapsed {
            trained_on: date(2025, 3, 1),
            lapsed_on: date(2026, 3, 1)
        }
    );
    assert!(reason.to_string().contains("new training is recorded"));
    // What does not reach personal data stays open.
    assert!(
        h.app
            .permit(Some(&member), Permission::Console, None)
            .is_ok()
    );
    // A new training restores access the same day.
    let member = paperwork(h, id, date(2026, 3, 1)).await;
    assert!(
        h.app
            .permit(Some(&member), Permission::ReadSubject, Some("support"))
            .is_ok()
    );
}

/// Issue 21 (R7.9, item 14): an incident runs two clocks — telling the authorized body and
/// telling the people affected — and the data protection service is reminded before the
/// deadline (8 and 2 hours left), not only after, once per clock and point, in messages that
/// name the incident and nobody in it. Told, a clock stops reminding.
pub async fn incident_clocks_remind_before_the_deadline_and_count_the_people_told(h: &Harness) {
    let dpo = Actor::new("staff", "dpo:test");
    let subject = add(h, aigerim(), vec![]).await;
    h.clock
        .set("2026-03-20T05:00:00Z".parse::<Timestamp>().unwrap());
    let incident = h
        .app
        .report_incident(
            &dpo,
            IncidentReport {
                detected_at: h.app.now(),
                description: "A support export was sent to a wrong partner".into(),
                categories: vec!["contact".into()],
                subjects: vec![subject],
                measures: String::new(),
            },
        )
        .await
        .unwrap();
    let due = incident.authority.due_at;
    let people = incident.people.clone().expect("someone is affected");
    assert_eq!((people.due_at, people.state), (due, ClockState::Running));
    let at = |hours_before: i64| {
        h.clock.set(due - SignedDuration::from_hours(hours_before));
    };
    assert_eq!(h.app.remind_incidents().await.unwrap(), 0, "a day ahead");
    at(7);
    assert_eq!(
        h.app.remind_incidents().await.unwrap(),
        2,
        "8 hours left: both clocks"
    );
    assert_eq!(h.app.remind_incidents().await.unwrap(), 0, "once per point");
    at(1);
    assert_eq!(h.app.remind_incidents().await.unwrap(), 2, "2 hours left");
    h.app
        .update_incident(
            &dpo,
            incident.id,
            IncidentStep::AuthorityNotified {
                at: h.app.now(),
                reference: "UPD-2026-042".into(),
            },
        )
        .await
        .unwrap();
    h.clock.set(due + SignedDuration::from_mins(1));
    assert_eq!(
        h.app.remind_incidents().await.unwrap(),
        1,
        "overdue: only the people's clock still runs"
    );
    h.app
        .notify_incident_subjects(&dpo, incident.id)
        .await
        .unwrap();
    let now = h.app.incident(incident.id).await.unwrap();
    assert_eq!(now.authority.state, ClockState::Met);
    assert_eq!(now.people.unwrap().state, ClockState::MetLate);
    h.clock.advance(SignedDuration::from_hours(1));
    assert_eq!(h.app.remind_incidents().await.unwrap(), 0, "told: quiet");

    let reminders: Vec<_> = h
        .app
        .claim_outbox(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == "incident:reminder")
        .map(|m| h.app.open_message(&m).unwrap())
        .collect();
    assert_eq!(reminders.len(), 5);
    for r in &reminders {
        assert_eq!(r.to, h.app.policy().contact.email);
        assert!(r.subject.contains(&incident.id.to_string()));
        assert!(!r.body.contains("aigerim") && !r.body.contains(&subject.to_string()));
    }
}

pub async fn incidents_run_on_the_working_day_clock_and_tell_the_people_affected(h: &Harness) {
    let dpo = Actor::new("staff", "dpo:test");
    let subject = add(h, aigerim(), vec![]).await;
    // Detected on Friday 20 March 2026 at 10:00 Almaty: Nauryz runs Saturday to Wednesday, so
    // the authorized body is due by the end of Thursday 26 March.
    h.clock
        .set("2026-03-20T05:00:00Z".parse::<Timestamp>().unwrap());
    let bad = h
        .app
        .report_incident(
            &dpo,
            IncidentReport {
                detected_at: h.app.now(),
                description: "Leaked list with aigerim@mail.kz".into(),
                categories: vec!["contact".into(), "no_such".into()],
                ..Default::default()
            },
        )
        .await;
    let Err(CoreError::Invalid(problems)) = bad else {
        panic!("personal data in the register must be refused");
    };
    let fields: Vec<&str> = problems.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["description", "categories[1]"]);
    assert!(
        h.app.incidents().await.unwrap().is_empty(),
        "nothing was stored"
    );

    let incident = h
        .app
        .report_incident(
            &dpo,
            IncidentReport {
                detected_at: h.app.now(),
                description: "A support export was sent to a wrong partner".into(),
                categories: vec!["contact".into()],
                subjects: vec![subject],
                measures: "The partner confirmed deletion".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        incident.authority.due_at,
        "2026-03-26T19:00:00Z".parse::<Timestamp>().unwrap()
    );
    assert_eq!(incident.authority.state, ClockState::Running);

    h.clock
        .set("2026-03-26T19:00:00Z".parse::<Timestamp>().unwrap());
    let now = h.app.incident(incident.id).await.unwrap();
    assert_eq!(now.authority.state, ClockState::Overdue);
    assert_eq!(now.authority.minutes_left, Some(0));

    let notified = h
        .app
        .update_incident(
            &dpo,
            incident.id,
            IncidentStep::AuthorityNotified {
                at: h.app.now(),
                reference: "UPD-2026-041".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(notified.authority.state, ClockState::MetLate);

    // The affected person is told through the outbox, under the law's duty, once.
    let report = h
        .app
        .notify_incident_subjects(&dpo, incident.id)
        .await
        .unwrap();
    assert_eq!(report.queued, 1);
    let again = h
        .app
        .notify_incident_subjects(&dpo, incident.id)
        .await
        .unwrap();
    assert_eq!((again.queued, again.already_told), (0, 1));
    let recorder = Recorder::default();
    assert_eq!(h.app.deliver(&recorder, 10).await.unwrap().sent, 1);
    let sent = recorder.sent.lock().unwrap().clone();
    assert_eq!(sent[0].to, "aigerim.nurlanova.test@почта.kz");
    assert!(sent[0].body.contains("The partner confirmed deletion"));

    let closed = h
        .app
        .update_incident(
            &dpo,
            incident.id,
            IncidentStep::Close {
                note: "Done".into(),
            },
        )
        .await
        .unwrap();
    assert!(!closed.is_open());
    let steps: Vec<&str> = closed.timeline.iter().map(|t| t.what.as_str()).collect();
    assert_eq!(
        steps,
        [
            "reported",
            "authority_notified",
            "closed",
            "subjects_notified"
        ]
    );
    assert!(
        h.app
            .update_incident(&dpo, incident.id, IncidentStep::Close { note: "x".into() })
            .await
            .is_err(),
        "a closed incident stays as it is"
    );
}

pub async fn audits_and_risk_assessments_keep_findings_and_follow_ups(h: &Harness) {
    let auditor = Actor::new("staff", "auditor:test");
    let bad = h
        .app
        .record_assessment(
            &auditor,
            AssessmentRecord {
                kind: AssessmentKind::SecurityAudit,
                conducted_on: date(2030, 1, 1),
                scope: "".into(),
                conducted_by: "internal".into(),
                findings: vec![],
                follow_ups: vec![],
            },
        )
        .await;
    assert!(bad.is_err());
    let assessment = h
        .app
        .record_assessment(
            &auditor,
            AssessmentRecord {
                kind: AssessmentKind::RiskAssessment,
                conducted_on: date(2025, 2, 20),
                scope: "Payments and the outbox".into(),
                conducted_by: "internal".into(),
                findings: vec!["Backups were not tested".into()],
                follow_ups: vec![FollowUp {
                    action: "Restore a backup every quarter".into(),
                    due_on: date(2025, 3, 15),
                    done_on: None,
                }],
            },
        )
        .await
        .unwrap();
    assert_eq!(assessment.overdue_follow_ups, 0);
    h.clock
        .set("2025-03-20T04:00:00Z".parse::<Timestamp>().unwrap());
    assert_eq!(
        h.app
            .assessment(assessment.id)
            .await
            .unwrap()
            .overdue_follow_ups,
        1
    );
    let done = h
        .app
        .complete_follow_up(&auditor, assessment.id, 0, date(2025, 3, 19))
        .await
        .unwrap();
    assert_eq!(done.overdue_follow_ups, 0);
    assert_eq!(done.record.follow_ups[0].done_on, Some(date(2025, 3, 19)));
    assert!(
        h.app
            .complete_follow_up(&auditor, assessment.id, 5, date(2025, 3, 19))
            .await
            .is_err()
    );
    assert_eq!(h.app.assessments().await.unwrap().len(), 1);
}

/// A support agent reads `me` for support, and `other` for a legal claim: two accesses of which
/// only the first is `me`'s business.
async fn support_looks_at(h: &Harness, me: Uuid, other: Uuid) {
    let agent =
        Actor::new("staff", "support:0193a5b2-7c1e-7d40-9a2b-3c4d5e6f7a8b").for_purpose("support");
    h.app.read(&agent, me, "support").await.unwrap();
    h.app
        .read(&agent.clone().for_purpose("legal_claim"), other, "support")
        .await
        .unwrap();
}

/// Issue 9: the person's list of who looked, from the audit log — staff by role with their
/// purpose, the platform's processing grouped by month — and nothing of anyone else.
/// Issue 21 (R7.8): audits and assessments are due yearly. Never done, each is overdue; done,
/// it is due a year later and not overdue until then; a day past that year, overdue again.
pub async fn the_yearly_audit_and_assessment_fall_due_a_year_after_the_last(h: &Harness) {
    let auditor = Actor::new("staff", "auditor:test");
    let schedule = h.app.assessment_schedule().await.unwrap();
    assert_eq!(schedule.len(), 2);
    assert!(
        schedule.iter().all(|d| d.overdue && d.due_on.is_none()),
        "{schedule:?}"
    );
    let today = h.app.now().to_zoned_datetime(h.app.policy().zone()).date();
    h.app
        .record_assessment(
            &auditor,
            AssessmentRecord {
                kind: AssessmentKind::SecurityAudit,
                conducted_on: today,
                scope: "The whole service".into(),
                conducted_by: "internal".into(),
                findings: vec![],
                follow_ups: vec![],
            },
        )
        .await
        .unwrap();
    let due = |schedule: &[vintrova_core::assessments::Schedule], kind| {
        schedule.iter().find(|d| d.kind == kind).cloned().unwrap()
    };
    let schedule = h.app.assessment_schedule().await.unwrap();
    let audit = due(&schedule, AssessmentKind::SecurityAudit);
    assert_eq!(
        audit.due_on,
        Some(today.checked_add(jiff::Span::new().years(1)).unwrap())
    );
    assert!(!audit.overdue);
    assert!(
        due(&schedule, AssessmentKind::RiskAssessment).overdue,
        "never done"
    );
    h.clock.advance(SignedDuration::from_hours(24 * 367));
    let schedule = h.app.assessment_schedule().await.unwrap();
    assert!(
        due(&schedule, AssessmentKind::SecurityAudit).overdue,
        "a year and a day on"
    );
}

pub async fn who_looked_lists_staff_by_role_and_purpose_and_groups_the_rest(h: &Harness) {
    use vintrova_core::transparency::Accessor;
    let me = add(h, aigerim(), contract()).await;
    let mut someone = aigerim();
    someone["contact"]["email"] = serde_json::json!("someone.else.test@mail.kz");
    someone["contact"]["phone"] = serde_json::json!("+7 701 555 00 11");
    let other = add(h, someone, contract()).await;
    let platform = Actor::new("api", "token");
    for _ in 0..3 {
        h.app.read(&platform, me, "personalization").await.unwrap();
    }
    support_looks_at(h, me, other).await;

    let list = h.app.who_looked(me).await.unwrap();
    let staff: Vec<_> = list
        .iter()
        .filter(|a| a.who == Accessor::Staff("support".into()))
        .collect();
    assert_eq!(staff.len(), 1);
    assert_eq!(staff[0].purpose.as_deref(), Some("support"));
    let platform_reads = list
        .iter()
        .find(|a| a.who == Accessor::Platform && a.action == "read")
        .expect("the platform's reads");
    assert_eq!(platform_reads.times, 3, "grouped by month");
    assert!(
        list.iter()
            .all(|a| a.purpose.as_deref() != Some("legal_claim")),
        "no one else's"
    );
    let request = h
        .verified_request(me, RightKind::Information)
        .await
        .unwrap();
    let info = h
        .app
        .information(&Actor::new("test", "dpo"), me, Some(request))
        .await
        .unwrap();
    assert!(
        info.who_looked
            .iter()
            .any(|a| a.who == Accessor::Staff("support".into()))
    );
}

/// Issue 9: a person who asked for it gets, once a month, an email of who used their data in
/// the month before — staff by role and purpose — and nothing of anyone else; asked to stop,
/// it stops.
pub async fn the_monthly_digest_tells_a_subscriber_who_looked_last_month_once(h: &Harness) {
    let password = "пароль-для-сводки";
    let values = h.app.parse_json(&aigerim()).unwrap();
    let me = h
        .app
        .register(
            &Actor::new("test", "site"),
            values.clone(),
            password,
            crate::ticked(&crate::shipped_policy(), &values, vec![]),
        )
        .await
        .unwrap()
        .opened()
        .expect("the account opens");
    let other = add(
        h,
        serde_json::json!({"contact": {"first_name": "Другой", "email": "other.digest@mail.kz"}}),
        contract(),
    )
    .await;
    assert_eq!(h.app.access_digest(me).await.unwrap(), None);
    h.app.set_access_digest(me, true).await.unwrap();
    assert_eq!(h.app.access_digest(me).await.unwrap(), Some(h.app.now()));
    let system = Actor::new("system", "digest");
    let deliver = || async {
        let recorder = Recorder::default();
        h.clock
            .advance(vintrova_core::outbox::LEASE + SignedDuration::from_secs(1));
        h.app.deliver(&recorder, 100).await.unwrap();
        recorder.sent.lock().unwrap().clone()
    };
    deliver().await;

    support_looks_at(h, me, other).await;
    // Day one is 1 March: April's first day brings March's digest.
    h.clock.set("2025-04-01T00:00:00Z".parse().unwrap());
    assert_eq!(h.app.send_access_digests(&system).await.unwrap(), 1);
    assert_eq!(
        h.app.send_access_digests(&system).await.unwrap(),
        0,
        "once a month, however often the job runs"
    );
    let sent = deliver().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "aigerim.nurlanova.test@почта.kz");
    assert!(
        sent[0]
            .body
            .contains("с 1 марта 2025 г. по 31 марта 2025 г."),
        "{}",
        sent[0].body
    );
    assert!(
        sent[0].body.contains("сотрудник: поддержка"),
        "{}",
        sent[0].body
    );
    assert!(
        !sent[0].body.contains("legal_claim") && !sent[0].body.contains("Другой"),
        "nothing of anyone else: {}",
        sent[0].body
    );

    h.app.set_access_digest(me, false).await.unwrap();
    h.clock.set("2025-05-01T00:00:00Z".parse().unwrap());
    assert_eq!(h.app.send_access_digests(&system).await.unwrap(), 0);
}
