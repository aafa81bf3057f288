package worker

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hibiken/asynq"

	"switchboard/channels"
	"switchboard/config"
	"switchboard/queue"
)

// handleMediaFetch fetches an inbound file from its provider into the
// blob store (conversations.Service.FetchMedia). A provider failure is
// retried with asynq's backoff; a file gone for good, too large or not
// matching its hash is marked failed at once, and one still not fetched
// on the last retry is marked unavailable: no file is retried for ever.
func (w *Worker) handleMediaFetch(ctx context.Context, t *asynq.Task) error {
	f, err := queue.DecodeMediaFetch(t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	fetcher, ok := w.channels[f.Channel].(channels.MediaFetcher)
	if !ok {
		// A channel removed from the config, or one whose files cannot
		// be fetched (yet): the file is marked unavailable, so the
		// console says so instead of loading for ever.
		w.logger.WarnContext(ctx, "media file not fetched: its channel cannot fetch files", "channel", f.Channel, "media", f.MediaID)
		fetcher = cannotFetch{}
	}
	limits := w.mediaLimits
	if limits == nil {
		var d config.Media
		d.MaxBytes = config.MediaLimits{Image: config.DefaultImageBytes, Audio: config.DefaultAudioBytes,
			Video: config.DefaultVideoBytes, Document: config.DefaultDocumentBytes, Sticker: config.DefaultStickerBytes}
		limits = d.MaxBytes.For
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, ok := asynq.GetMaxRetry(ctx)
	final := ok && retried >= maxRetry
	if err := w.conv.FetchMedia(ctx, f.MediaID, fetcher, limits, final); err != nil {
		return fmt.Errorf("fetch media %s: %w", f.MediaID, err)
	}
	return nil
}

// cannotFetch is the fetcher of a channel that has none: every file is
// unavailable, for good.
type cannotFetch struct{}

func (cannotFetch) FetchMedia(context.Context, *channels.Media) (io.ReadCloser, channels.FetchedInfo, error) {
	return nil, channels.FetchedInfo{}, &channels.FetchError{Reason: channels.FetchUnavailable, Permanent: true,
		Err: errors.New("the channel cannot fetch files")}
}
