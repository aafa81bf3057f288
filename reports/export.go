package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"
)

// Columns are the header of an export, one row per conversation.
var Columns = []string{"id", "opened_at", "closed_at", "channel", "query_type", "assignee", "resolution",
	"first_response_seconds", "resolution_seconds", "reopened"}

// RowWriter writes an export's rows as they are read.
type RowWriter interface {
	// Write adds one conversation.
	Write(r *Row) error
	// Close finishes the document; nothing may be written after.
	Close() error
}

// CSVWriter writes an export as CSV (RFC 4180) with a header row: times
// as RFC 3339 in the report's timezone, "" for a time or duration not
// there yet, durations in whole seconds, reopened as true or false.
type CSVWriter struct {
	w   *csv.Writer
	loc *time.Location
	rec []string
}

// NewCSV starts a CSV export on w, writing its header row.
func NewCSV(w io.Writer, loc *time.Location) (*CSVWriter, error) {
	c := &CSVWriter{w: csv.NewWriter(w), loc: loc, rec: make([]string, len(Columns))}
	if err := c.w.Write(Columns); err != nil {
		return nil, err
	}
	return c, nil
}

// Write adds r's row; the writer flushes to w as its buffer fills.
func (c *CSVWriter) Write(r *Row) error {
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(c.loc).Format(time.RFC3339)
	}
	secs := func(s int64, ok bool) string {
		if !ok {
			return ""
		}
		return strconv.FormatInt(s, 10)
	}
	c.rec[0], c.rec[1], c.rec[2] = r.ID, at(r.OpenedAt), at(r.ClosedAt)
	c.rec[3], c.rec[4], c.rec[5], c.rec[6] = r.Channel, r.QueryType, r.Assignee, r.Resolution
	c.rec[7], c.rec[8] = secs(r.FirstResponse()), secs(r.ResolutionTime())
	c.rec[9] = strconv.FormatBool(r.Reopened)
	return c.w.Write(c.rec)
}

// Flush sends what is buffered to the writer and on to its client.
func (c *CSVWriter) Flush(w http.Flusher) error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	w.Flush()
	return nil
}

// Close flushes what is buffered.
func (c *CSVWriter) Close() error {
	c.w.Flush()
	return c.w.Error()
}

// XLSXWriter writes an export as an XLSX workbook of one sheet with a
// header row: times as Excel dates in the report's timezone's wall clock
// (Excel has no time zones), durations as numbers, reopened as a
// boolean. excelize's StreamWriter keeps a few rows in memory and the
// rest in a temporary file, which Close copies to w.
type XLSXWriter struct {
	f      *excelize.File
	sw     *excelize.StreamWriter
	out    io.Writer
	loc    *time.Location
	n      int
	timeID int
	cells  []any
}

// Sheet is the name of an XLSX export's sheet.
const Sheet = "Conversations"

// NewXLSX starts an XLSX export, to be written to w by Close.
func NewXLSX(w io.Writer, loc *time.Location) (*XLSXWriter, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", Sheet); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(Sheet)
	if err != nil {
		return nil, err
	}
	format := "yyyy-mm-dd hh:mm:ss"
	timeID, err := f.NewStyle(&excelize.Style{CustomNumFmt: &format})
	if err != nil {
		return nil, err
	}
	x := &XLSXWriter{f: f, sw: sw, out: w, loc: loc, timeID: timeID, n: 1, cells: make([]any, len(Columns))}
	header := make([]any, len(Columns))
	for i, c := range Columns {
		header[i] = c
	}
	if err := sw.SetRow("A1", header); err != nil {
		return nil, err
	}
	return x, nil
}

// Write adds r's row.
func (x *XLSXWriter) Write(r *Row) error {
	at := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		l := t.In(x.loc)
		wall := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
		return excelize.Cell{StyleID: x.timeID, Value: wall}
	}
	secs := func(s int64, ok bool) any {
		if !ok {
			return nil
		}
		return s
	}
	x.cells[0], x.cells[1], x.cells[2] = r.ID, at(r.OpenedAt), at(r.ClosedAt)
	x.cells[3], x.cells[4], x.cells[5], x.cells[6] = r.Channel, r.QueryType, r.Assignee, r.Resolution
	x.cells[7], x.cells[8] = secs(r.FirstResponse()), secs(r.ResolutionTime())
	x.cells[9] = r.Reopened
	x.n++
	cell, err := excelize.CoordinatesToCellName(1, x.n)
	if err != nil {
		return err
	}
	if err := x.sw.SetRow(cell, x.cells); err != nil {
		return fmt.Errorf("xlsx row %d: %w", x.n, err)
	}
	return nil
}

// Close finishes the sheet and writes the workbook to w.
func (x *XLSXWriter) Close() error {
	defer x.f.Close()
	if err := x.sw.Flush(); err != nil {
		return err
	}
	_, err := x.f.WriteTo(x.out)
	return err
}

// Abort drops an unfinished workbook and its temporary files.
func (x *XLSXWriter) Abort() { x.f.Close() }
