package projections

import (
	"math"

	"docket/eventlog"
)

// decodeEvent decodes a stream message's event as
// [eventlog.DecodeEvent] does, without reflection and leaving Changed
// nil: a projection needs the document, not the diff (an insert lists
// every field there), and after the Pebble writes decoding was the
// projector's largest cost. The fast path checks that Changed has its
// shape (what DecodeEvent refuses stays refused) and sends any envelope
// it does not know to DecodeEvent.
func decodeEvent(data []byte) (*eventlog.Event, error) {
	if ev, err := decodeEventFast(data); err == nil {
		return ev, nil
	}
	ev, err := eventlog.DecodeEvent(data)
	if err != nil {
		return nil, err
	}
	ev.Changed = nil
	return ev, nil
}

func decodeEventFast(data []byte) (*eventlog.Event, error) {
	d := fastDecoder{b: data, hugeUintAsFloat: true}
	n, err := d.mapLen()
	if err != nil {
		return nil, err
	}
	ev := new(eventlog.Event)
	for range n {
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		switch k {
		case "format", "version", "time", "prev_seq":
			x, err := d.value()
			if err != nil {
				return nil, err
			}
			i, ok := x.(int64)
			if !ok || i < 0 && k != "time" || k == "format" && i > math.MaxInt32 {
				return nil, errSlowPath
			}
			switch k {
			case "format":
				ev.Format = int(i)
			case "version":
				ev.Version = uint64(i)
			case "time":
				ev.Time = i
			default:
				ev.PrevSeq = eventlog.Seq(i)
			}
		case "id", "type", "doctype", "name", "user", "tx", "renamed_from", "renamed_to":
			s, err := d.str()
			if err != nil {
				return nil, err
			}
			switch k {
			case "id":
				ev.ID = s
			case "type":
				ev.Type = eventlog.Type(s)
			case "doctype":
				ev.DocType = s
			case "name":
				ev.Name = s
			case "user":
				ev.User = s
			case "tx":
				ev.Tx = s
			case "renamed_from":
				ev.RenamedFrom = s
			default:
				ev.RenamedTo = s
			}
		case "doc":
			if ev.Doc, err = d.doc(); err != nil {
				return nil, err
			}
		case "prev":
			if ev.Prev, err = d.bin(); err != nil {
				return nil, err
			}
		case "changed":
			if err := d.skipChanges(); err != nil {
				return nil, err
			}
		default:
			return nil, errSlowPath
		}
	}
	if d.i != len(d.b) {
		return nil, errSlowPath
	}
	return ev, nil
}

// skipChanges passes over a changed list of the canonical shape: nil, or
// an array of maps with string keys whose "Field" is a string or nil.
// Anything else is left to msgpack (errSlowPath).
func (d *fastDecoder) skipChanges() error {
	if d.i < len(d.b) && d.b[d.i] == 0xc0 {
		d.i++
		return nil
	}
	n, err := d.arrayLen()
	if err != nil {
		return err
	}
	for range n {
		fields, err := d.mapLen()
		if err != nil {
			return err
		}
		for range fields {
			k, err := d.str()
			if err != nil {
				return err
			}
			if k != "Field" {
				if err := d.skip(); err != nil {
					return err
				}
				continue
			}
			c, err := d.byte1()
			if err != nil {
				return err
			}
			if c != 0xc0 {
				if _, err := d.strBody(c); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
