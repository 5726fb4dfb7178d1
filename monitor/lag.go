package monitor

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Lag bounds how far a node's projections may trail the log while the
// node is ready: a number of messages, or a time (how long the oldest
// message not applied yet has been in the log). The zero value means the
// default, 1000 messages.
type Lag struct {
	Messages uint64
	Time     time.Duration
}

// DefaultLag is the bound of the zero Lag.
var DefaultLag = Lag{Messages: 1000}

// ParseLag reads "1000" (messages) or a Go duration such as "5s".
func ParseLag(s string) (Lag, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseUint(s, 10, 64); err == nil && n > 0 {
		return Lag{Messages: n}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return Lag{Time: d}, nil
	}
	return Lag{}, fmt.Errorf("a lag bound is a number of messages (1000) or a duration (5s), more than zero, not %q", s)
}

// String writes the bound as ParseLag reads it ("" for the zero Lag).
func (l Lag) String() string {
	switch {
	case l.Time > 0:
		return l.Time.String()
	case l.Messages > 0:
		return strconv.FormatUint(l.Messages, 10)
	}
	return ""
}

// Set parses a flag's value (Lag is a flag.Value).
func (l *Lag) Set(s string) error {
	v, err := ParseLag(s)
	if err != nil {
		return err
	}
	*l = v
	return nil
}

func (l Lag) orDefault() Lag {
	if l.Messages == 0 && l.Time <= 0 {
		return DefaultLag
	}
	return l
}
