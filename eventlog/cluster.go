package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream API error codes a cluster answers while it is not ready yet:
// no meta leader, not enough peers known for the replicas asked, a
// leader being elected.
const (
	errCodeClusterNotAvailable = 10008 // JetStream system temporarily unavailable
	errCodeInsufficientRes     = 10023 // insufficient resources
	errCodeNoSuitablePeers     = 10005 // no suitable peers for placement
	errCodeNotLeader           = 10009 // JetStream cluster not leader
	errCodeClusterNotActive    = 10006 // JetStream not in clustered mode (yet)
	errCodeMessageNotFound     = 10037 // no message found
)

// NotReady reports whether err is what a JetStream cluster answers
// while it is forming or electing a leader (or what a client gets when
// no server answers yet): worth retrying for a while.
func NotReady(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrConnectionReconnecting) {
		return true
	}
	apiErr := apiError(err)
	if apiErr == nil {
		return false
	}
	switch apiErr.ErrorCode {
	case errCodeClusterNotAvailable, errCodeInsufficientRes, errCodeNoSuitablePeers,
		errCodeNotLeader, errCodeClusterNotActive:
		return true
	}
	return apiErr.Code == 503
}

// Retry runs op until it succeeds, fails with an error that is not
// [NotReady], or ctx ends (then the last error is returned). Each attempt
// has a deadline (1 s, doubling up to 16 s): when the nodes of a new
// cluster all create one stream at once, JetStream creates it but answers
// none of them, and the next attempt finds it. Attempts are spaced from
// 50 ms growing to 1 s; every 10 s of waiting is logged with what. It is
// how docket waits for a JetStream cluster to be ready: the meta leader
// elected, enough peers for the replicas asked.
func Retry(ctx context.Context, logger *slog.Logger, what string, op func(ctx context.Context) error) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	start, logged := time.Now(), time.Now()
	pause, limit := 50*time.Millisecond, time.Second
	for {
		// A request a busy cluster left unanswered is sent again soon; one
		// that only needs long gets longer each time.
		actx, cancel := context.WithTimeout(ctx, limit)
		err := op(actx)
		cancel()
		limit = min(2*limit, 16*time.Second)
		if err == nil || !NotReady(err) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: JetStream not ready after %s: %w", what, time.Since(start).Round(time.Second), err)
		}
		if time.Since(logged) >= 10*time.Second {
			logger.Warn("waiting for JetStream (a cluster needs most of its nodes up)", "for", what,
				"waited", time.Since(start).Round(time.Second), "err", err)
			logged = time.Now()
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
		}
		pause = min(2*pause, time.Second)
	}
}

// leaderWait bounds a read through the leader when its caller set no
// deadline: long enough for a cluster to elect a new leader.
const leaderWait = 30 * time.Second

// msgGetRequest is the body of $JS.API.STREAM.MSG.GET.<stream>.
type msgGetRequest struct {
	Seq     uint64 `json:"seq,omitempty"`
	LastFor string `json:"last_by_subj,omitempty"`
	NextFor string `json:"next_by_subj,omitempty"`
}

type msgGetResponse struct {
	Error *struct {
		Code        int    `json:"code"`
		ErrCode     uint16 `json:"err_code"`
		Description string `json:"description"`
	} `json:"error"`
	Message *struct {
		Subject  string    `json:"subject"`
		Sequence uint64    `json:"seq"`
		Header   []byte    `json:"hdrs"`
		Data     []byte    `json:"data"`
		Time     time.Time `json:"time"`
	} `json:"message"`
}

// leaderGet reads one message through the stream's leader (the JetStream
// API's STREAM.MSG.GET), which has stored every acknowledged message. On
// a replicated stream a direct get may be answered by a replica that has
// not applied the newest messages yet (it is usually this node's own):
// fine for reads, wrong for deciding what a write did, and wrong for the
// base of the next write (it would only conflict, over and over).
func (l *Log) leaderGet(ctx context.Context, req msgGetRequest) (*Msg, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	reply, err := l.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+StreamName, body)
	if err != nil {
		return nil, err
	}
	var resp msgGetResponse
	if err := json.Unmarshal(reply.Data, &resp); err != nil {
		return nil, fmt.Errorf("message get answer: %w", err)
	}
	if resp.Error != nil {
		if resp.Error.ErrCode == errCodeMessageNotFound {
			return nil, jetstream.ErrMsgNotFound
		}
		return nil, &jetstream.APIError{Code: resp.Error.Code, ErrorCode: jetstream.ErrorCode(resp.Error.ErrCode),
			Description: resp.Error.Description}
	}
	if resp.Message == nil {
		return nil, fmt.Errorf("message get answer without a message")
	}
	m := resp.Message
	var hdr nats.Header
	if len(m.Header) > 0 {
		if hdr, err = nats.DecodeHeadersMsg(m.Header); err != nil {
			return nil, err
		}
	}
	return &Msg{Seq: Seq(m.Sequence), Subject: m.Subject, Data: m.Data, Header: hdr, Time: m.Time}, nil
}

// getMsg reads one message: through the leader on a replicated stream
// (waiting while the cluster elects a leader: see retry), else by direct
// get.
func (l *Log) getMsg(ctx context.Context, req msgGetRequest) (*Msg, error) {
	if l.replicas > 1 {
		var m *Msg
		err := l.retry(ctx, "read from the stream leader", func(ctx context.Context) error {
			var err error
			m, err = l.leaderGet(ctx, req)
			return err
		})
		return m, err
	}
	var raw *jetstream.RawStreamMsg
	var err error
	switch {
	case req.LastFor != "":
		raw, err = l.stream.GetLastMsgForSubject(ctx, req.LastFor)
	case req.NextFor != "":
		raw, err = l.stream.GetMsg(ctx, req.Seq, jetstream.WithGetMsgSubject(req.NextFor))
	default:
		raw, err = l.stream.GetMsg(ctx, req.Seq)
	}
	if err != nil {
		return nil, err
	}
	return rawMsg(raw), nil
}

// retry runs op once on a single server; on a replicated stream it
// retries op while the cluster is not ready (electing a leader), within
// ctx or, when ctx has no deadline, at most leaderWait.
func (l *Log) retry(ctx context.Context, what string, op func(ctx context.Context) error) error {
	if l.replicas <= 1 {
		return op(ctx)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, leaderWait)
		defer cancel()
	}
	return Retry(ctx, l.log, what, op)
}

// Replicas returns the DOCS stream's replica count.
func (l *Log) Replicas() int { return l.replicas }
