package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/store"
)

// heartbeat keeps idle streams open through proxies.
const heartbeat = 15 * time.Second

// events streams Server-Sent Events of new messages, assignments, state
// changes and delivery statuses, each only if the caller may see the
// conversation (or it just left them). Events carry ids and states; the
// console fetches what it needs to show.
func (a *API) events(c echo.Context) error {
	ctx := c.Request().Context()
	ps, err := a.store.Subscribe(ctx)
	if err != nil {
		return a.internal(c, err)
	}
	defer ps.Close()
	// A stream outlives the server's write timeout, which is for requests.
	if err := http.NewResponseController(c.Response().Writer).SetWriteDeadline(time.Time{}); err != nil {
		a.logger.DebugContext(ctx, "cannot lift the write deadline of an event stream", "err", err)
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": connected\n\n")
	w.Flush()

	u := caller(c)
	msgs := ps.Channel()
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.closing:
			return nil // the console reconnects to another replica
		case <-tick.C:
			fmt.Fprint(w, ": ping\n\n")
			w.Flush()
		case m, ok := <-msgs:
			if !ok {
				return nil
			}
			var ev store.Event
			if json.Unmarshal([]byte(m.Payload), &ev) != nil || ev.QueryID == "" {
				continue
			}
			if ev.PreviousAssignee != u.ID {
				st, err := a.store.RoutingState(ctx, ev.QueryID)
				if err != nil {
					continue
				}
				if ok, err := a.visible(ctx, u, st, a.settingsNow(ctx)); err != nil || !ok {
					continue
				}
			}
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, m.Payload)
			w.Flush()
		}
	}
}
