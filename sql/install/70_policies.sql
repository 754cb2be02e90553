-- Row-level security ---------------------------------------------------------------
--
-- Who sees which rows, in one place.  Viewers (tutors, students and the web
-- front end) see the students of engage.visible_students(); consent-dependent
-- data only for engage.consenting_students(); marks only for
-- engage.mark_students().  Loaders see and write everything; administrators
-- read what they manage.  Each function runs once per query as an InitPlan.

-- data shown regardless of consent
ALTER TABLE @extschema@.student ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.student FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_read ON @extschema@.student FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.visible_students())::text[]));

ALTER TABLE @extschema@.tutoring ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.tutoring FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_read ON @extschema@.tutoring FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.visible_students())::text[]));

ALTER TABLE @extschema@.consent ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.consent FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_read ON @extschema@.consent FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.visible_students())::text[]));

ALTER TABLE @extschema@.enrolment ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.enrolment FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_read ON @extschema@.enrolment FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.visible_students())::text[]));

ALTER TABLE @extschema@.attendance ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.attendance FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_read ON @extschema@.attendance FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.visible_students())::text[]));

ALTER TABLE @extschema@.meeting_note ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.meeting_note FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_read ON @extschema@.meeting_note FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.visible_students())::text[]));

-- data shown only with consent
ALTER TABLE @extschema@.daily_engagement ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.daily_engagement FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_read ON @extschema@.daily_engagement FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.consenting_students())::text[]));

ALTER TABLE @extschema@.employability ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.employability FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_read ON @extschema@.employability FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.consenting_students())::text[]));

ALTER TABLE @extschema@.ele_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.ele_event FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.app_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.app_event FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.career_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.career_event FORCE ROW LEVEL SECURITY;

-- marks: with consent, and never during an exam period
ALTER TABLE @extschema@.assessment_mark ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.assessment_mark FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_read ON @extschema@.assessment_mark FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.mark_students())::text[]));

-- who was in which college when: read by the refresh (as the loader) and by
-- administrators; viewers read the student's college from engage.student
ALTER TABLE @extschema@.student_college ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.student_college FORCE ROW LEVEL SECURITY;

-- the nightly run's marks: written by engage.mark_stale, read and emptied by
-- the refresh (as the loader)
ALTER TABLE @extschema@.refresh_stale ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.refresh_stale FORCE ROW LEVEL SECURITY;

-- loaders write the source data and run the refresh
CREATE POLICY loader_all ON @extschema@.refresh_stale FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.student_college FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.student FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.tutoring FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.consent FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.enrolment FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.attendance FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.daily_engagement FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.employability FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.ele_event FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.app_event FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.career_event FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.assessment_mark FOR ALL TO engage_loader USING (true) WITH CHECK (true);

-- administrators read the people, tutoring and consent they manage; which
-- notes exist they read through engage.meeting_note_index, since a policy
-- opening meeting_note to them would open the notes' text too to an
-- administrator who is also a tutor
CREATE POLICY admin_read ON @extschema@.student FOR SELECT TO engage_admin USING (true);
CREATE POLICY admin_read ON @extschema@.tutoring FOR SELECT TO engage_admin USING (true);
CREATE POLICY admin_read ON @extschema@.consent FOR SELECT TO engage_admin USING (true);
CREATE POLICY admin_read ON @extschema@.student_college FOR SELECT TO engage_admin USING (true);
