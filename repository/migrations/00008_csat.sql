-- Satisfaction surveys (issue 15, item 7). A conversation an operator
-- closed may be surveyed; the customer's rating is kept with it:
--   csat_requested_at  when the question was recorded (0: never asked)
--   csat_until         the last moment an answer is taken (0: never asked)
--   csat_score         the rating, 1 to 5 (0: unanswered)
--   csat_at            when the rating was stored (0: unanswered)
--   csat_message       the id of the inbound message that answered, so
--                      its redelivery is known for the answer it was

-- +goose Up
ALTER TABLE conversations ADD COLUMN csat_requested_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN csat_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN csat_score INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN csat_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN csat_message TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE conversations DROP COLUMN csat_message;
ALTER TABLE conversations DROP COLUMN csat_at;
ALTER TABLE conversations DROP COLUMN csat_score;
ALTER TABLE conversations DROP COLUMN csat_until;
ALTER TABLE conversations DROP COLUMN csat_requested_at;
