//! Every story on SQLite and on PostgreSQL, in one test binary and one run.

use vintrova_store_tests::Harness;
use vintrova_store_tests::disclosures;
use vintrova_store_tests::doors;
use vintrova_store_tests::receipts;
use vintrova_store_tests::retention;
use vintrova_store_tests::servers;
use vintrova_store_tests::staff;
use vintrova_store_tests::stories::{self, Tampering};

macro_rules! on_both_backends {
    ($($name:ident => |$h:ident| $body:expr;)*) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let $h = Harness::sqlite().await;
                    $body.await;
                    $h.finish().await;
                }
            )*
        }
        mod postgres {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let $h = Harness::postgres().await;
                    $body.await;
                    $h.finish().await;
                }
            )*
        }
    };
}

on_both_backends! {
    a_long_history_is_copied_whole_and_in_order => |h| stories::a_long_history_is_copied_whole_and_in_order(&h);
    an_erased_person_leaves_no_row_in_any_table => |h| stories::an_erased_person_leaves_no_row_in_any_table(&h);
    two_writers_making_the_same_key_at_once_both_seal_under_the_kept_one => |h| stories::two_writers_making_the_same_key_at_once_both_seal_under_the_kept_one(&h);
    a_letter_from_the_mailbox_waits_to_be_classified_from_its_arrival => |h| stories::a_letter_from_the_mailbox_waits_to_be_classified_from_its_arrival(&h);
    a_letter_nobody_classified_is_reminded_on_its_own_clock => |h| stories::a_letter_nobody_classified_is_reminded_on_its_own_clock(&h);
    every_server_gets_the_one_shared_secret_from_the_key_store => |h| servers::every_server_gets_the_one_shared_secret_from_the_key_store(&h);
    two_servers_delivering_at_once_send_each_event_once_and_in_order => |h| stories::two_servers_delivering_at_once_send_each_event_once_and_in_order(&h);
    every_change_the_platform_acts_on_leaves_its_event => |h| stories::every_change_the_platform_acts_on_leaves_its_event(&h);
    a_receiver_gets_every_event_once_in_order_through_an_outage_and_a_restart => |h| stories::a_receiver_gets_every_event_once_in_order_through_an_outage_and_a_restart(&h);
    an_endpoint_failing_a_day_is_disabled_and_its_events_wait_for_it => |h| stories::an_endpoint_failing_a_day_is_disabled_and_its_events_wait_for_it(&h);
    a_rotated_secret_signs_beside_the_old_one_for_a_day => |h| stories::a_rotated_secret_signs_beside_the_old_one_for_a_day(&h);
    a_published_policy_is_told_with_the_day_it_comes_into_force => |h| stories::a_published_policy_is_told_with_the_day_it_comes_into_force(&h);
    an_erasure_vacuums_the_key_table_on_postgresql => |h| stories::an_erasure_vacuums_the_key_table_on_postgresql(&h);
    postgresql_off_this_machine_needs_tls_and_tls_is_spoken => |h| stories::postgresql_off_this_machine_needs_tls_and_tls_is_spoken(&h);
    the_one_address_migration_keeps_the_oldest_holder => |h| stories::the_one_address_migration_keeps_the_oldest_holder(&h);
    a_partial_erasure_ends_the_relationship => |h| stories::a_partial_erasure_ends_the_relationship(&h);
    the_yearly_audit_and_assessment_fall_due_a_year_after_the_last => |h| staff::the_yearly_audit_and_assessment_fall_due_a_year_after_the_last(&h);
    a_letter_entered_late_counts_its_thirty_days_from_its_arrival => |h| stories::a_letter_entered_late_counts_its_thirty_days_from_its_arrival(&h);
    a_letter_writer_is_kept_by_the_support_rule_from_the_day_their_request_closes => |h| stories::a_letter_writer_is_kept_by_the_support_rule_from_the_day_their_request_closes(&h);
    every_message_goes_in_the_language_the_person_chose => |h| stories::every_message_goes_in_the_language_the_person_chose(&h);
    mail_for_an_erased_person_is_erased_with_them => |h| stories::mail_for_an_erased_person_is_erased_with_them(&h);
    a_letter_writer_registers_by_proving_the_address_and_keeps_their_requests => |h| stories::a_letter_writer_registers_by_proving_the_address_and_keeps_their_requests(&h);
    a_legal_hold_binds_erasure_and_the_receipt_names_it => |h| stories::a_legal_hold_binds_erasure_and_the_receipt_names_it(&h);
    a_letter_is_held_apart_from_people_until_its_code_comes_back => |h| stories::a_letter_is_held_apart_from_people_until_its_code_comes_back(&h);
    one_address_is_one_person_however_written_and_wherever_changed => |h| stories::one_address_is_one_person_however_written_and_wherever_changed(&h);
    two_erasures_of_one_person_at_once_are_one_erasure_with_one_receipt => |h| stories::two_erasures_of_one_person_at_once_are_one_erasure_with_one_receipt(&h);
    concurrent_reads_are_recorded_in_batches_each_before_its_answer => |h| stories::concurrent_reads_are_recorded_in_batches_each_before_its_answer(&h);
    a_rollback_of_everything_on_the_server_is_caught_by_a_later_witness => |h| stories::a_rollback_of_everything_on_the_server_is_caught_by_a_later_witness(&h);
    the_signed_head_goes_to_the_data_protection_service_once_a_day => |h| stories::the_signed_head_goes_to_the_data_protection_service_once_a_day(&h);
    a_forged_or_premature_checkpoint_fails_verification => |h| stories::a_forged_or_premature_checkpoint_fails_verification(&h);
    a_deleted_head_file_or_a_wiped_log_fails_verification => |h| stories::a_deleted_head_file_or_a_wiped_log_fails_verification(&h);
    a_cut_tail_stops_personal_data_until_an_operator_accepts_it => |h| stories::a_cut_tail_stops_personal_data_until_an_operator_accepts_it(&h);
    a_full_copy_answers_only_the_persons_verified_request => |h| doors::a_full_copy_answers_only_the_persons_verified_request(&h);
    staff_duties_open_only_what_their_incident_or_hold_needs => |h| doors::staff_duties_open_only_what_their_incident_or_hold_needs(&h);
    contact_data_is_collected_and_opened_only_with_its_consent => |h| doors::contact_data_is_collected_and_opened_only_with_its_consent(&h);
    confidential_fields_arrive_and_open_only_with_their_consent => |h| doors::confidential_fields_arrive_and_open_only_with_their_consent(&h);
    the_renewal_rule_holds_for_recorded_events => |h| doors::the_renewal_rule_holds_for_recorded_events(&h);
    a_subject_lives_and_is_erased => |h| stories::a_subject_lives_and_is_erased(&h);
    no_value_is_stored_in_clear_and_erasure_leaves_no_trace => |h| stories::no_value_is_stored_in_clear_and_erasure_leaves_no_trace(&h);
    bad_input_is_refused_whole_and_changes_nothing => |h| stories::bad_input_is_refused_whole_and_changes_nothing(&h);
    the_purpose_gate_checks_each_basis => |h| stories::the_purpose_gate_checks_each_basis(&h);
    erasure_keeps_what_tax_law_requires_until_it_expires => |h| stories::erasure_keeps_what_tax_law_requires_until_it_expires(&h);
    erasure_keeps_payments_until_the_newest_ones_tax_years_end => |h| stories::erasure_keeps_payments_until_the_newest_ones_tax_years_end(&h);
    subjects_are_found_by_email_and_phone_and_corrections_follow => |h| stories::subjects_are_found_by_email_and_phone_and_corrections_follow(&h);
    key_rotation_rewraps_without_touching_data => |h| stories::key_rotation_rewraps_without_touching_data(&h);
    every_storage_column_is_declared_in_the_data_map => |h| stories::every_storage_column_is_declared_in_the_data_map(&h);
    consents_are_a_ledger_and_withdrawal_is_immediate_and_durable => |h| stories::consents_are_a_ledger_and_withdrawal_is_immediate_and_durable(&h);
    analytics_events_need_cookie_consent_and_security_events_do_not => |h| stories::analytics_events_need_cookie_consent_and_security_events_do_not(&h);
    accounts_open_sign_in_change_password_and_close => |h| stories::accounts_open_sign_in_change_password_and_close(&h);
    payments_are_confirmed_by_signed_callbacks_and_kept_five_years => |h| stories::payments_are_confirmed_by_signed_callbacks_and_kept_five_years(&h);
    learning_enrolls_tracks_progress_and_recommends_by_level => |h| stories::learning_enrolls_tracks_progress_and_recommends_by_level(&h);
    support_tickets_keep_messages_sealed_until_two_years_after_closing => |h| stories::support_tickets_keep_messages_sealed_until_two_years_after_closing(&h);
    notices_go_only_where_consent_holds_and_no_objection => |h| stories::notices_go_only_where_consent_holds_and_no_objection(&h);
    password_reset_tokens_work_once_within_the_hour_and_tell_nothing => |h| stories::password_reset_tokens_work_once_within_the_hour_and_tell_nothing(&h);
    the_outbox_delivers_every_message_once_or_again_with_the_same_id => |h| stories::the_outbox_delivers_every_message_once_or_again_with_the_same_id(&h);
    every_right_is_answered_after_verification_within_thirty_days => |h| stories::every_right_is_answered_after_verification_within_thirty_days(&h);
    a_new_code_ends_the_old_one_for_requests_and_letters => |h| stories::a_new_code_ends_the_old_one_for_requests_and_letters(&h);
    staff_are_reminded_before_deadlines_once_per_point => |h| stories::staff_are_reminded_before_deadlines_once_per_point(&h);
    concurrent_writes_keep_one_audit_chain => |h| stories::concurrent_writes_keep_one_audit_chain(&h);
    audit_verifies_and_catches_an_edited_entry => |h| stories::audit_tampering_is_detected(&h, Tampering::Edit);
    audit_catches_a_deleted_entry => |h| stories::audit_tampering_is_detected(&h, Tampering::Delete);
    audit_catches_an_inserted_entry => |h| stories::audit_tampering_is_detected(&h, Tampering::Insert);
    audit_catches_reordered_entries => |h| stories::audit_tampering_is_detected(&h, Tampering::Reorder);
    audit_catches_entries_cut_off_the_end => |h| stories::audit_tampering_is_detected(&h, Tampering::Truncate);
    an_erasure_request_is_answered_with_a_signed_receipt_and_the_server_keeps_only_its_hash => |h| receipts::an_erasure_request_is_answered_with_a_signed_receipt_and_the_server_keeps_only_its_hash(&h);
    a_person_the_sweep_removes_gets_a_signed_receipt_by_email => |h| receipts::a_person_the_sweep_removes_gets_a_signed_receipt_by_email(&h);
    a_class_the_sweep_empties_brings_a_receipt_of_what_went_and_what_stays => |h| receipts::a_class_the_sweep_empties_brings_a_receipt_of_what_went_and_what_stays(&h);
    the_monthly_digest_tells_a_subscriber_who_looked_last_month_once => |h| staff::the_monthly_digest_tells_a_subscriber_who_looked_last_month_once(&h);
    two_servers_run_every_job_side_by_side_and_nothing_is_done_twice => |h| servers::two_servers_run_every_job_side_by_side_and_nothing_is_done_twice(&h);
    audit_catches_the_end_cut_off_even_with_the_key_store_anchor_rewound => |h| stories::audit_tampering_is_detected(&h, Tampering::TruncateAndRewind);
    staff_enroll_sign_in_with_a_second_factor_and_are_locked_after_five_failures => |h| staff::staff_enroll_sign_in_with_a_second_factor_and_are_locked_after_five_failures(&h);
    staff_sessions_end_after_idle_and_absolute_timeouts_and_when_disabled => |h| staff::staff_sessions_end_after_idle_and_absolute_timeouts_and_when_disabled(&h);
    lapsed_training_refuses_personal_data_the_same_day_with_its_reason => |h| staff::lapsed_training_refuses_personal_data_the_same_day_with_its_reason(&h);
    incident_clocks_remind_before_the_deadline_and_count_the_people_told => |h| staff::incident_clocks_remind_before_the_deadline_and_count_the_people_told(&h);
    every_employee_signs_before_acting_and_nobody_records_their_own_paperwork => |h| staff::every_employee_signs_before_acting_and_nobody_records_their_own_paperwork(&h);
    incidents_run_on_the_working_day_clock_and_tell_the_people_affected => |h| staff::incidents_run_on_the_working_day_clock_and_tell_the_people_affected(&h);
    audits_and_risk_assessments_keep_findings_and_follow_ups => |h| staff::audits_and_risk_assessments_keep_findings_and_follow_ups(&h);
    the_look_ahead_by_month_matches_what_the_sweep_then_deletes => |h| retention::the_look_ahead_by_month_matches_what_the_sweep_then_deletes(&h);
    disclosures_outside_a_recipients_allowance_are_refused_and_the_rest_are_logged_for_the_person => |h| disclosures::disclosures_outside_a_recipients_allowance_are_refused_and_the_rest_are_logged_for_the_person(&h);
    anonymized_analytics_reach_an_analytics_recipient_only_as_k_anonymous_groups => |h| disclosures::anonymized_analytics_reach_an_analytics_recipient_only_as_k_anonymous_groups(&h);
    a_category_moving_onto_consent_waits_for_consent_under_the_new_version => |h| disclosures::a_category_moving_onto_consent_waits_for_consent_under_the_new_version(&h);
    the_first_version_is_in_the_archive_from_its_first_start => |h| disclosures::the_first_version_is_in_the_archive_from_its_first_start(&h);
    a_material_policy_change_needs_thirty_days_and_reaches_everyone_once => |h| disclosures::a_material_policy_change_needs_thirty_days_and_reaches_everyone_once(&h);
    a_basis_change_pauses_processing_until_the_person_consents_again => |h| disclosures::a_basis_change_pauses_processing_until_the_person_consents_again(&h);
    data_goes_abroad_only_after_a_planned_transfer_was_announced_and_began => |h| disclosures::data_goes_abroad_only_after_a_planned_transfer_was_announced_and_began(&h);
    who_looked_lists_staff_by_role_and_purpose_and_groups_the_rest => |h| staff::who_looked_lists_staff_by_role_and_purpose_and_groups_the_rest(&h);
    six_years_each_rule_deletes_on_its_day_and_not_a_day_before => |h| retention::six_years_each_rule_deletes_on_its_day_and_not_a_day_before(&h);
    a_hold_keeps_data_past_its_date_until_released => |h| retention::a_hold_keeps_data_past_its_date_until_released(&h);
    a_month_wholly_due_leaves_whole_and_each_person_is_accounted_for => |h| retention::a_month_wholly_due_leaves_whole_and_each_person_is_accounted_for(&h);
    keys_the_sweep_destroys_leave_the_key_store_files => |h| retention::keys_the_sweep_destroys_leave_the_key_store_files(&h);
    people_swept_together_each_keep_their_own_entry_receipt_and_word => |h| retention::people_swept_together_each_keep_their_own_entry_receipt_and_word(&h);
    the_sweep_journals_a_group_it_removes_whole_at_once => |h| retention::the_sweep_journals_a_group_it_removes_whole_at_once(&h);
    the_dry_run_reports_what_the_real_run_then_does => |h| retention::the_dry_run_reports_what_the_real_run_then_does(&h);
    the_pruned_audit_log_verifies_from_its_checkpoint_and_catches_tampering => |h| retention::the_pruned_audit_log_verifies_from_its_checkpoint_and_catches_tampering(&h);
    one_sweep_at_a_time_across_servers => |h| retention::one_sweep_at_a_time_across_servers(&h);
}

/// Stories PostgreSQL alone can tell, given the harness and its raw pool.
macro_rules! on_postgres {
    ($($(#[$doc:meta])* $name:ident => |$h:ident, $pool:ident| $story:expr;)*) => {$(
        $(#[$doc])*
        #[tokio::test]
        async fn $name() {
            let $h = Harness::postgres().await;
            let vintrova_store_tests::RawPool::Postgres($pool) = $h.raw_pool() else {
                unreachable!("a PostgreSQL harness")
            };
            $story.await;
            $h.finish().await;
        }
    )*};
}

on_postgres! {
    /// Issue 24, item 5: PostgreSQL's schema is one a store spread by person could hold (SQLite,
    /// one file on one machine, is never spread; the story says what is checked).
    every_key_of_a_table_spread_by_person_includes_the_person => |h, pool|
        stories::every_key_of_a_table_spread_by_person_includes_the_person(pool);
    /// Issue 24, item 4: a month the sweep cannot lock at once is left to the next sweep.
    a_month_the_sweep_cannot_lock_at_once_leaves_row_by_row => |h, pool|
        retention::a_month_the_sweep_cannot_lock_at_once_leaves_row_by_row(&h, pool);
    /// Issue 24, item 4: a month too large to move is not filed and leaves row by row.
    a_month_too_large_to_move_stays_unfiled_and_leaves_row_by_row => |h, pool|
        retention::a_month_too_large_to_move_stays_unfiled_and_leaves_row_by_row(&h, pool);
}

/// Issue 24: the access copy is the same bytes on both backends — the same person, the same
/// history on the same clock, and the two copies differ in nothing but their ids (each new id
/// stands for itself, numbered by first appearance): no backend's row order, timestamp
/// precision or text encoding shows through.
#[tokio::test]
async fn the_copy_is_the_same_bytes_on_sqlite_and_postgresql() {
    let mut copies = vec![];
    for h in [Harness::sqlite().await, Harness::postgres().await] {
        copies.push(ids_numbered(&copy_of_a_history(&h).await));
        h.finish().await;
    }
    assert!(copies[0].contains("\"format\":\"vintrova.copy/2\""));
    assert!(copies[0].contains("Firefox 133"), "{}", copies[0]);
    assert_eq!(copies[0], copies[1]);
}

/// Issue 24, item 6: SQLite reads a person's values, events and event heads through a synchronous
/// driver; they must come out exactly as sqlx reads them — ids, an order's record and its
/// absence, moments to the nanosecond, sealed bytes.
#[tokio::test]
async fn sqlite_reads_a_person_alike_through_either_driver() {
    use vintrova_core::store::SubjectStore;
    let h = Harness::sqlite().await;
    copy_of_a_history(&h).await;
    let vintrova_store_tests::RawPool::Sqlite(pool) = h.raw_pool() else {
        unreachable!("a SQLite harness")
    };
    let through_sqlx = vintrova_store_sql::sqlite::SqliteStore::new(pool.clone());
    let id = h.store().subject_ids(None, 10).await.unwrap()[0];
    // A rejection's reason is an event of the request's record.
    let request = h
        .verified_request(id, vintrova_core::rights::RightKind::Information)
        .await
        .unwrap();
    let dpo = vintrova_core::Actor::new("test", "dpo");
    h.app
        .reject_request(&dpo, request, "Нет оснований")
        .await
        .unwrap();
    let events = h.store().events(id).await.unwrap();
    assert!(
        events.len() > 40,
        "the visits and the payment: {}",
        events.len()
    );
    assert!(events.iter().any(|e| e.record.is_some()) && events.iter().any(|e| e.record.is_none()));
    assert_eq!(events, through_sqlx.events(id).await.unwrap());
    // Every visit with its moment when a law's clock runs on its class; one head per
    // category when none does.
    for timed in [vec!["logs".to_string(), "support".to_string()], vec![]] {
        let heads = h.store().event_heads(id, &timed).await.unwrap();
        assert_eq!(heads, through_sqlx.event_heads(id, &timed).await.unwrap());
        let visits = heads.iter().filter(|e| e.key_class == "logs");
        if timed.is_empty() {
            assert_eq!(visits.clone().count(), 1, "{heads:?}");
            assert!(
                heads
                    .iter()
                    .all(|e| e.collected_at.is_none() && e.record.is_none())
            );
        } else {
            assert_eq!(visits.clone().count(), 40, "{heads:?}");
            assert!(visits.clone().all(|e| e.collected_at.is_some()));
            assert!(
                heads
                    .iter()
                    .any(|e| e.key_class == "support" && e.record.is_some())
            );
        }
    }
    let values = h.store().values(id).await.unwrap();
    assert!(!values.is_empty());
    assert_eq!(values, through_sqlx.values(id).await.unwrap());
    h.finish().await;
}

/// A person with a profile, a payment and visits over a year and a half, copied in answer to
/// her verified access request: the copy as JSON.
async fn copy_of_a_history(h: &Harness) -> String {
    use vintrova_core::rights::RightKind;
    let mut doc = stories::aigerim();
    doc["payment"] = serde_json::json!({"amount": 4_500_000, "currency": "kzt", "method": "card", "card_last4": "4242", "provider_reference": "KSP-2025-000187"});
    let id = stories::add(h, doc, stories::contract()).await;
    let actor = vintrova_core::Actor::new("test", "platform");
    for day in 0..40u32 {
        // Odd hours and nanoseconds: a backend that rounded a moment would show.
        h.clock.advance(jiff::SignedDuration::new(
            i64::from(day) * 3_600 * 13 + 7,
            123_456_789,
        ));
        let visit = serde_json::json!({"technical": {"ip": format!("10.1.{day}.7"), "browser": "Firefox 133", "os": "Android 14"}});
        h.app
            .record_events(
                &actor,
                id,
                "security",
                h.app.parse_json(&visit).unwrap(),
                "visit_technical",
            )
            .await
            .unwrap();
    }
    let request = h.verified_request(id, RightKind::Access).await.unwrap();
    let copy = h
        .app
        .copy_for_request(&vintrova_core::Actor::new("test", "dpo"), id, Some(request))
        .await
        .unwrap();
    serde_json::to_string(&copy).unwrap()
}

/// `text` with every UUID replaced by `#n`, n counting distinct ids in order of appearance.
fn ids_numbered(text: &str) -> String {
    let is_uuid = |s: &[u8]| {
        s.len() == 36
            && s.iter().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => *b == b'-',
                _ => b.is_ascii_hexdigit(),
            })
    };
    let bytes = text.as_bytes();
    let mut seen: Vec<&[u8]> = vec![];
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if i + 36 <= bytes.len() && is_uuid(&bytes[i..i + 36]) {
            let id = &bytes[i..i + 36];
            let n = match seen.iter().position(|s| *s == id) {
                Some(n) => n,
                None => {
                    seen.push(id);
                    seen.len() - 1
                }
            };
            out.extend_from_slice(format!("#{n}").as_bytes());
            i += 36;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("only ASCII ids were replaced")
}
