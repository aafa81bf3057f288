package api

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
)

// rowEncoder writes {"from": ..., "to": ..., "timezone": ..., "rows": [
// ...]} a row at a time, through a buffer flushed as it fills.
type rowEncoder struct {
	w   *bufio.Writer
	enc *json.Encoder
	n   int
}

func newRowEncoder(w io.Writer) *rowEncoder {
	b := bufio.NewWriterSize(w, 32<<10)
	return &rowEncoder{w: b, enc: json.NewEncoder(b)}
}

func (e *rowEncoder) begin(from, to, tz string) error {
	head, err := json.Marshal(map[string]string{"from": from, "to": to, "timezone": tz})
	if err != nil {
		return err
	}
	// {"from":...,"timezone":...,"to":...} without its closing brace.
	_, err = e.w.Write(append(head[:len(head)-1], `,"rows":[`...))
	return err
}

func (e *rowEncoder) row(v *ReportRow) error {
	if e.n > 0 {
		if err := e.w.WriteByte(','); err != nil {
			return err
		}
	}
	e.n++
	return e.enc.Encode(v)
}

// flush sends what is buffered on to w's client.
func (e *rowEncoder) flush(w http.Flusher) error {
	if err := e.w.Flush(); err != nil {
		return err
	}
	w.Flush()
	return nil
}

func (e *rowEncoder) end() error {
	if _, err := e.w.WriteString("]}\n"); err != nil {
		return err
	}
	return e.w.Flush()
}
