-- The people the demo picker offers, as one JSON array: the tutor with the
-- most current tutees among those with a tutee who has not consented, that
-- tutor's tutee with consent and the most meeting notes, and one without.
-- Run as a superuser on the demo university (make demo-web, test/t/web.t).
WITH today AS (
    SELECT engage.today() AS d, engage.current_academic_year() AS y
), current_tutees AS (
    SELECT t.tutor_id, t.student_id, s.full_name,
           EXISTS (SELECT FROM engage.consent_latest AS cl
                   WHERE cl.student_id = t.student_id AND cl.academic_year = today.y AND cl.granted) AS consent,
           (SELECT count(*) FROM engage.meeting_note AS n WHERE n.student_id = t.student_id) AS notes
    FROM engage.tutoring AS t
    JOIN engage.student AS s ON s.student_id = t.student_id
    CROSS JOIN today
    WHERE t.valid_from <= today.d AND (t.valid_to IS NULL OR t.valid_to > today.d)
), tutor AS (
    SELECT c.tutor_id, f.full_name, count(*) AS tutees
    FROM current_tutees AS c JOIN engage.staff AS f ON f.staff_id = c.tutor_id
    GROUP BY c.tutor_id, f.full_name
    ORDER BY bool_or(NOT c.consent) DESC, count(*) DESC, c.tutor_id
    LIMIT 1
)
SELECT jsonb_build_array(
    (SELECT jsonb_build_object('id', t.tutor_id, 'role', 'tutor',
                               'label', format('%s, personal tutor of %s', t.full_name, t.tutees)) FROM tutor AS t),
    (SELECT jsonb_build_object('id', c.student_id, 'role', 'student', 'consent', true,
                               'label', format('%s, student (consented)', c.full_name))
     FROM current_tutees AS c JOIN tutor USING (tutor_id) WHERE c.consent
     ORDER BY c.notes DESC, c.student_id LIMIT 1),
    (SELECT jsonb_build_object('id', c.student_id, 'role', 'student', 'consent', false,
                               'label', format('%s, student (no consent)', c.full_name))
     FROM current_tutees AS c JOIN tutor USING (tutor_id) WHERE NOT c.consent
     ORDER BY c.notes DESC, c.student_id LIMIT 1));
