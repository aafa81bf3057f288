package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"switchboard/channels"
)

var _ channels.MediaFetcher = (*Channel)(nil)

// getFileAnswer is the Bot API's answer to getFile.
type getFileAnswer struct {
	OK          bool   `json:"ok"`
	Description string `json:"description"`
	ErrorCode   int    `json:"error_code"`
	Result      struct {
		FileSize int64  `json:"file_size"`
		FilePath string `json:"file_path"`
	} `json:"result"`
}

// FetchMedia downloads an inbound file: getFile answers its file_path,
// which the file endpoint ({api}/file/bot{token}/{file_path}) serves.
// The Bot API hands over files up to 20 MB; a larger one is refused
// for good.
func (c *Channel) FetchMedia(ctx context.Context, m *channels.Media) (io.ReadCloser, channels.FetchedInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.methodBase+"getFile?file_id="+url.QueryEscape(m.ID), nil)
	if err != nil {
		return nil, channels.FetchedInfo{}, &channels.FetchError{Reason: channels.FetchRefused, Permanent: true, Err: fmt.Errorf("getFile: build request")}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// Not err itself: its URL holds the bot token.
		return nil, channels.FetchedInfo{}, &channels.FetchError{Reason: channels.FetchUnavailable, Err: fmt.Errorf("getFile: %w", errors.Unwrap(err))}
	}
	var a getFileAnswer
	err = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&a)
	resp.Body.Close()
	// The Bot API says why in the body of a 400 (a bad file_id, a file
	// too big); anything else not 2xx is classified by its status.
	if resp.StatusCode != http.StatusBadRequest {
		if err := channels.FetchStatus("getFile", resp.StatusCode); err != nil {
			return nil, channels.FetchedInfo{}, err
		}
	}
	if err != nil {
		return nil, channels.FetchedInfo{}, &channels.FetchError{Reason: channels.FetchUnavailable, Err: fmt.Errorf("getFile: unreadable answer")}
	}
	if !a.OK || a.Result.FilePath == "" {
		if strings.Contains(strings.ToLower(a.Description), "too big") {
			return nil, channels.FetchedInfo{}, &channels.FetchError{Reason: channels.FetchTooLarge, Permanent: true, Err: fmt.Errorf("getFile: file is too big")}
		}
		return nil, channels.FetchedInfo{}, &channels.FetchError{Reason: channels.FetchNotFound, Permanent: true, Err: fmt.Errorf("getFile: no file path")}
	}
	// A "." or ".." segment would climb out of the file endpoint to a
	// method of the bot ({api}/bot{token}/...): Go sends the path as is.
	if !cleanFilePath(a.Result.FilePath) {
		return nil, channels.FetchedInfo{}, &channels.FetchError{Reason: channels.FetchRefused, Permanent: true, Err: fmt.Errorf("getFile: file path leaves the file endpoint")}
	}
	// methodBase is {api}/bot{token}/; files are under {api}/file/bot{token}/.
	fileURL := c.cfg.APIBaseURL + "/file/bot" + url.PathEscape(c.cfg.BotToken) + "/" + escapePath(a.Result.FilePath)
	resp, err = channels.FetchGET(ctx, c.http, fileURL, "file download", nil)
	if err != nil {
		return nil, channels.FetchedInfo{}, err
	}
	size := int64(-1)
	if a.Result.FileSize > 0 {
		size = a.Result.FileSize
	}
	return resp.Body, channels.FetchedInfo{MimeType: m.MimeType, Size: size, Filename: m.Filename}, nil
}

// escapePath escapes each segment of a file_path ("photos/file_1.jpg").
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// cleanFilePath reports whether a file_path is relative, with no empty,
// "." or ".." segment and no backslash.
func cleanFilePath(p string) bool {
	if strings.Contains(p, "\\") {
		return false
	}
	for _, s := range strings.Split(p, "/") {
		if s == "" || s == "." || s == ".." {
			return false
		}
	}
	return true
}
