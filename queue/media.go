package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// TypeMediaFetch fetches an inbound file from its provider into the blob
// store (worker.handleMediaFetch).
const TypeMediaFetch = "media:fetch"

// MaxRetryMediaFetch bounds a file's fetch attempts: asynq's backoff
// makes 12 retries span about a day and a half, longer than any
// provider keeps a file (Meta's media URLs expire sooner), after which
// the file is marked unavailable.
const MaxRetryMediaFetch = 12

// MediaFetch is the payload of a media-fetch task: ids only, the
// provider's reference stays in the store.
type MediaFetch struct {
	Channel string `json:"channel"`
	MediaID string `json:"media_id"`
}

// EnqueueMediaFetch queues the fetch of an inbound file. One file is
// queued once while its task is retained; queuing it again is not an
// error (the task does nothing for a file no longer pending). A linked
// device's files go to its channel queue: only the process holding the
// device can download them.
func (c *Client) EnqueueMediaFetch(ctx context.Context, f MediaFetch) error {
	payload, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode media fetch: %w", err)
	}
	err = c.enqueue(ctx, asynq.NewTask(TypeMediaFetch, payload),
		asynq.TaskID(taskID(TypeMediaFetch, f.MediaID)),
		asynq.Queue(c.sendQueue(f.Channel, QueueInbound)),
		asynq.MaxRetry(MaxRetryMediaFetch),
		asynq.Retention(time.Hour),
		// A 100 MB document over a slow link needs its time.
		asynq.Timeout(10*time.Minute))
	if errors.Is(err, ErrDuplicate) {
		return nil
	}
	return err
}

// DecodeMediaFetch reads a media-fetch task's payload.
func DecodeMediaFetch(payload []byte) (*MediaFetch, error) {
	var f MediaFetch
	if err := json.Unmarshal(payload, &f); err != nil {
		return nil, fmt.Errorf("decode media fetch: %w", err)
	}
	if f.MediaID == "" {
		return nil, errors.New("decode media fetch: media_id is required")
	}
	return &f, nil
}

// EnqueueMediaFetch queues the fetch of an inbound file.
func (t Tasks) EnqueueMediaFetch(ctx context.Context, channel, mediaID string) error {
	return t.Client.EnqueueMediaFetch(ctx, MediaFetch{Channel: channel, MediaID: mediaID})
}
