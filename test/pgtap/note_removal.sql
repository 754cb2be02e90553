-- Asking for a meeting note's removal, and the administrators' decision,
-- under every role that may or may not take part.
BEGIN;
SELECT plan(16);
SET LOCAL client_min_messages = warning;

CREATE ROLE nr_t1 LOGIN IN ROLE engage_tutor;
CREATE ROLE nr_t2 LOGIN IN ROLE engage_tutor;
CREATE ROLE nr_s1 LOGIN IN ROLE engage_student;
CREATE ROLE nr_s2 LOGIN IN ROLE engage_student;
CREATE ROLE nr_app LOGIN IN ROLE engage_app;
CREATE ROLE nr_admin LOGIN IN ROLE engage_admin;
CREATE ROLE nr_loader LOGIN IN ROLE engage_loader;

CREATE TEMP TABLE today AS SELECT engage.today() AS d;
INSERT INTO engage.college VALUES ('CLES', 'Life and Environmental Sciences');
INSERT INTO engage.academic_year
SELECT format('%s/%s', y, lpad(((y + 1) % 100)::text, 2, '0')), make_date(y, 8, 1), make_date(y + 1, 7, 31)
FROM (SELECT extract(year FROM d - 212)::int AS y FROM today) AS t;
INSERT INTO engage.staff VALUES ('T1', 'Dr One', 'nr_t1'), ('T2', 'Dr Two', 'nr_t2'), ('A1', 'Desk', 'nr_admin');
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study, login_role)
VALUES ('S1', 'Sam One', 'CLES', 'BSc Biology', 1, 'nr_s1'), ('S2', 'Sue Two', 'CLES', 'BSc Biology', 1, 'nr_s2');
INSERT INTO engage.tutoring SELECT 'T1', s, d - 100, NULL::date FROM today, unnest(ARRAY['S1', 'S2']) AS s;
INSERT INTO engage.meeting_note (student_id, author_id, met_on, focus, discussed, summary)
SELECT 'S1', 'T1', d - 10, 'routine', 'Settling in', 'Note ' || i FROM today, generate_series(1, 3) AS i;
SELECT note_id AS note1 FROM engage.meeting_note WHERE summary = 'Note 1' \gset
SELECT note_id AS note2 FROM engage.meeting_note WHERE summary = 'Note 2' \gset
SELECT note_id AS note3 FROM engage.meeting_note WHERE summary = 'Note 3' \gset

SET SESSION AUTHORIZATION nr_t1;
SELECT lives_ok(format('SELECT engage.request_note_removal(%s, %L)', :note1, 'Written about the wrong student'),
                'the tutor who wrote a note asks for its removal');
SELECT throws_ok(format('SELECT engage.request_note_removal(%s, %L)', :note1, 'Again'), '23505', NULL,
                 'one pending request per note');
SELECT throws_ok(format('SELECT engage.request_note_removal(%s, %L)', :note2, '  '), '22023', NULL,
                 'a request needs a reason');
SELECT throws_ok('SELECT * FROM engage.note_removal_queue', '42501', NULL, 'a tutor does not read the queue');
SELECT throws_ok(format('SELECT engage.decide_note_removal(1, true, %L)', 'mine'), '42501', NULL,
                 'a tutor does not decide');
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION nr_s1;
SELECT lives_ok(format('SELECT engage.request_note_removal(%s, %L)', :note2, 'This is not what we discussed'),
                'the student asks for the removal of a note about them');
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION nr_t2;
SELECT throws_ok(format('SELECT engage.request_note_removal(%s, %L)', :note3, 'x'), 'P0002', NULL,
                 'another tutor cannot ask about a note they may not see, nor learn that it exists');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION nr_s2;
SELECT throws_ok(format('SELECT engage.request_note_removal(%s, %L)', :note3, 'x'), 'P0002', NULL,
                 'another student cannot either');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION nr_loader;
SELECT throws_ok(format('SELECT engage.request_note_removal(%s, %L)', :note3, 'x'), '42501', NULL,
                 'a loader cannot ask');
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION nr_admin;
SELECT is(ARRAY(SELECT summary FROM engage.note_removal_queue ORDER BY request_id), ARRAY['Note 1', 'Note 2'],
          'administrators see the requested notes, text included, and no other');
SELECT lives_ok(format('SELECT engage.decide_note_removal(%s, false, %L)',
                       (SELECT request_id FROM engage.note_removal_queue WHERE note_id = :note2), 'Accurate record'),
                'an administrator keeps a note');
SELECT lives_ok(format('SELECT engage.decide_note_removal(%s, true, %L)',
                       (SELECT request_id FROM engage.note_removal_queue WHERE note_id = :note1), 'Wrong student'),
                'and removes another');
SELECT throws_ok(format('SELECT engage.decide_note_removal(%s, true, %L)',
                        (SELECT request_id FROM engage.note_removal_request WHERE note_id = :note2), 'Changed my mind'),
                 '55000', NULL, 'a request is decided once');
SELECT is(ARRAY(SELECT decision || ' by ' || decided_by FROM engage.note_removal_request ORDER BY request_id),
          ARRAY['removed by nr_admin', 'kept by nr_admin'], 'every decision is recorded on its request');
RESET SESSION AUTHORIZATION;

SELECT is(ARRAY(SELECT summary FROM engage.meeting_note ORDER BY summary), ARRAY['Note 2', 'Note 3'],
          'the removed note is gone, the kept one stays');
SELECT is((SELECT removed_by || ': ' || reason FROM engage.meeting_note_removal WHERE note_id = :note1),
          'nr_admin: Wrong student', 'the removal is in the audit trail with its reason');

SELECT * FROM finish();
ROLLBACK;
