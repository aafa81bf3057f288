package telegram_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"switchboard/channels"
)

// The Bot API fake answers getFile with a file_path and serves the file
// under /file/bot{token}/; the fetch returns the bytes as served.
func TestFetchMediaDownloadsThroughGetFile(t *testing.T) {
	voice := []byte("OggS\x00\x02binary voice note \xff\xfe")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/bot" + botToken + "/getFile":
			switch r.URL.Query().Get("file_id") {
			case "AwACAgEAAxk":
				_, _ = io.WriteString(w, `{"ok":true,"result":{"file_id":"AwACAgEAAxk","file_size":22,"file_path":"voice/file_7.oga"}}`)
			case "huge":
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"ok":false,"error_code":400,"description":"Bad Request: file is too big"}`)
			default:
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"ok":false,"error_code":400,"description":"Bad Request: invalid file_id"}`)
			}
		case "/file/bot" + botToken + "/voice/file_7.oga":
			_, _ = w.Write(voice)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ch := newChannel(t, srv.URL)

	rc, info, err := ch.FetchMedia(context.Background(), &channels.Media{ID: "AwACAgEAAxk", MimeType: "audio/ogg"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, voice) || info.Size != 22 || info.MimeType != "audio/ogg" {
		t.Fatalf("fetched %q, %+v; want the served bytes, size 22, audio/ogg", got, info)
	}
	for id, want := range map[string]string{"huge": channels.FetchTooLarge, "gone": channels.FetchNotFound} {
		_, _, err := ch.FetchMedia(context.Background(), &channels.Media{ID: id})
		if reason, permanent := channels.PermanentFetch(err); !permanent || reason != want {
			t.Errorf("fetch %s: %v, want permanent %s", id, err, want)
		}
		if err != nil && bytes.Contains([]byte(err.Error()), []byte(botToken)) {
			t.Errorf("error %q holds the bot token", err)
		}
	}
}

// A file_path climbing out of the file endpoint is refused for good,
// never sent: the request would reach a method of the bot instead.
func TestFetchMediaRefusesAFilePathOutOfTheFileEndpoint(t *testing.T) {
	var outside []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bot"+botToken+"/getFile" {
			_, _ = io.WriteString(w, `{"ok":true,"result":{"file_size":3,"file_path":"../../bot`+botToken+`/logOut"}}`)
			return
		}
		outside = append(outside, r.URL.Path)
		_, _ = io.WriteString(w, `{"ok":true,"result":true}`)
	}))
	defer srv.Close()
	_, _, err := newChannel(t, srv.URL).FetchMedia(context.Background(), &channels.Media{ID: "AwACAgEAAxk"})
	if reason, permanent := channels.PermanentFetch(err); !permanent || reason != channels.FetchRefused {
		t.Fatalf("FetchMedia = %v, want permanent %s", err, channels.FetchRefused)
	}
	if len(outside) != 0 {
		t.Fatalf("requests beyond getFile: %v", outside)
	}
}
