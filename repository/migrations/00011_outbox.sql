-- Outbound messages recorded but whose send was never queued (Redis
-- failed between the two): the outbox sweep (conversations.Service.
-- RequeueUnsent) finds them along this index, which holds only the few
-- messages queued at any moment.

-- +goose Up
CREATE INDEX messages_unsent ON messages (at) WHERE direction = 'out' AND status = 'queued';

-- +goose Down
DROP INDEX messages_unsent;
