package reports

import (
	"archive/zip"
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
	"first_response_seconds", "resolution_seconds", "reopened", "csat_requested", "csat_score"}

// RowWriter writes an export's rows as they are read.
type RowWriter interface {
	// Write adds one conversation.
	Write(r *Row) error
	// Close finishes the document; nothing may be written after.
	Close() error
}

// CSVWriter writes an export as CSV (RFC 4180) with a header row: times
// as RFC 3339 in the report's timezone, "" for a time or duration not
// there yet, durations in whole seconds, reopened and csat_requested as
// true or false, csat_score "" while unanswered.
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
	c.rec[10], c.rec[11] = strconv.FormatBool(r.CSATRequested), ""
	if r.CSATScore > 0 {
		c.rec[11] = strconv.Itoa(r.CSATScore)
	}
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

// XLSXWriter writes an export as an XLSX workbook with a header row:
// times as Excel dates in the report's timezone's wall clock (Excel has
// no time zones), durations as numbers, reopened as a boolean. A sheet
// holds at most 1,048,576 rows (Excel's limit): a longer export goes on
// in sheets "Conversations 2", "Conversations 3", ..., each with its
// header. excelize's StreamWriter keeps a sheet's rows in a temporary
// file past 16 MiB, and Close zips the workbook straight to w (its zip
// writer is set to w's), so memory holds neither the rows nor the zip.
type XLSXWriter struct {
	f      *excelize.File
	sw     *excelize.StreamWriter
	loc    *time.Location
	row    int // the last row written in the current sheet
	sheets int
	timeID int
	cells  []any
}

// Sheet is the name of an XLSX export's first sheet.
const Sheet = "Conversations"

// sheetRows is Excel's limit of rows in a sheet (TotalRows in excelize);
// a variable, so that a test splits sheets without a million rows.
var sheetRows = excelize.TotalRows

// NewXLSX starts an XLSX export, to be written to w by Close.
func NewXLSX(w io.Writer, loc *time.Location) (*XLSXWriter, error) {
	f := excelize.NewFile()
	// The workbook goes to w as it is zipped, not to a buffer first.
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(w) })
	if err := f.SetSheetName("Sheet1", Sheet); err != nil {
		return nil, err
	}
	format := "yyyy-mm-dd hh:mm:ss"
	timeID, err := f.NewStyle(&excelize.Style{CustomNumFmt: &format})
	if err != nil {
		return nil, err
	}
	x := &XLSXWriter{f: f, loc: loc, timeID: timeID, cells: make([]any, len(Columns))}
	if err := x.nextSheet(); err != nil {
		f.Close()
		return nil, err
	}
	return x, nil
}

// nextSheet finishes the current sheet, if any, and starts the next one
// with its header row.
func (x *XLSXWriter) nextSheet() error {
	name := Sheet
	if x.sheets > 0 {
		if err := x.sw.Flush(); err != nil {
			return err
		}
		name = fmt.Sprintf("%s %d", Sheet, x.sheets+1)
		if _, err := x.f.NewSheet(name); err != nil {
			return err
		}
	}
	sw, err := x.f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	x.sw, x.sheets, x.row = sw, x.sheets+1, 1
	header := make([]any, len(Columns))
	for i, c := range Columns {
		header[i] = c
	}
	return sw.SetRow("A1", header)
}

// Write adds r's row.
func (x *XLSXWriter) Write(r *Row) error {
	if x.row == sheetRows {
		if err := x.nextSheet(); err != nil {
			return err
		}
	}
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
	x.cells[10], x.cells[11] = r.CSATRequested, nil
	if r.CSATScore > 0 {
		x.cells[11] = r.CSATScore
	}
	x.row++
	cell, err := excelize.CoordinatesToCellName(1, x.row)
	if err != nil {
		return err
	}
	if err := x.sw.SetRow(cell, x.cells); err != nil {
		return fmt.Errorf("xlsx row %d: %w", x.row, err)
	}
	return nil
}

// Close finishes the last sheet and zips the workbook to w.
func (x *XLSXWriter) Close() error {
	defer x.f.Close()
	if err := x.sw.Flush(); err != nil {
		return err
	}
	_, err := x.f.WriteTo(io.Discard) // the zip writer writes to w; nothing is buffered
	return err
}

// Abort drops an unfinished workbook and its temporary files.
func (x *XLSXWriter) Abort() { x.f.Close() }
