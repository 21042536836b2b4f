# Letters to the person: the same words as the pages (right-*, basis-*), dates the locale's way.
moment-format = { $date }, { $time }
mail-received-title = We received your request
mail-received-body = We received your request "{ $right }" and will answer by { $due }. You can follow it in your cabinet, under "Requests".
mail-answered-title = The answer to your request
mail-fulfilled-body = Your request "{ $right }" was carried out. The answer is in your cabinet, under "Requests".
mail-refused-body = Your request "{ $right }" was refused. The reason: { $reason }
mail-copy-title = A copy of your data is ready
mail-copy-body = Download it here: { $link } — the link works until { $until }. The copy is also in your cabinet, under "My data".
mail-request-code-title = Your confirmation code
mail-request-code-body = The code to confirm your personal data request: { $code }. It works for 30 minutes.
mail-registration-code-title = Confirm your registration
mail-registration-code-body = The code to confirm your registration with this address: { $code }. It works for 30 minutes.
mail-reset-title = Resetting your password
mail-reset-body = Someone asked to reset your password. Open the link to set a new one; it works for one hour. If it was not you, ignore this message.
mail-erased-request-title = Your data was erased as you asked
mail-erased-request-body = Your personal data was erased as you asked.
mail-erased-retention-title = Your data was erased: its retention term ended
mail-erased-retention-body = The retention term our privacy policy sets for your personal data ended, so it was erased.
mail-receipt-explained = Attached is a signed erasure receipt: which categories of data were destroyed and when, what the law makes us keep, and until when. Its signature can be checked with the key published on our privacy policy page. Keep the receipt: we keep only its hash.
notice-course_update-title = Your courses were updated
notice-course_update-body = New materials were added to the courses you study. Sign in to your cabinet to see them.
notice-new_feature-title = Something new on Vintrova
notice-new_feature-body = The platform has a new feature. Read more in your cabinet.
notice-account_idle-title = Your account will close
notice-account_idle-body = You have not signed in for a long time. Unless you sign in by { $date }, your account will close and your data will be deleted as our privacy policy says. To keep it, simply sign in.
notice-incident-title = A security incident concerning your data
notice-incident-body = A security incident affected your personal data. What happened and what we have done about it is written below. If you have questions, write to { $contact }.
notice-policy_change-title = Our privacy policy is changing
notice-policy_change-body = Our privacy policy is changing: the new version applies from { $date }. Read what changes on the policy page of the website.
notice-transfer_abroad-title = Your data will go abroad
notice-transfer_abroad-body = From { $date } your data will be transferred, under a contract and extra safeguards, to a country with adequate protection ({ $country }).
notice-access_digest-title = Who looked at your data: the monthly digest
notice-access_digest-body = Who used your data from { $from } to { $to }, and for what:
digest-nobody = Nobody used your data this month.
digest-line = { $day }: { $who } — { $categories }{ $purpose } ({ $times ->
    [one] once
   *[other] { $times } times
})
