package bench

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Machine describes where a run took place.
type Machine struct {
	Date       string            `json:"date"`
	CPU        string            `json:"cpu"`
	NumCPU     int               `json:"num_cpu"`
	GOMAXPROCS int               `json:"gomaxprocs"`
	MemTotal   int64             `json:"mem_total_bytes"`
	Kernel     string            `json:"kernel"`
	Go         string            `json:"go"`
	Modules    map[string]string `json:"modules"`
	TempDir    string            `json:"temp_dir"`
	TempFS     string            `json:"temp_fs"`
}

func describeMachine(tmp string) Machine {
	m := Machine{
		Date:       time.Now().UTC().Format(time.RFC3339),
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Go:         runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		Modules:    map[string]string{},
		TempDir:    tmp,
		TempFS:     fsType(tmp),
		CPU:        firstField("/proc/cpuinfo", "model name"),
	}
	if kb, err := strconv.ParseInt(strings.Fields(firstField("/proc/meminfo", "MemTotal") + " 0")[0], 10, 64); err == nil {
		m.MemTotal = kb << 10
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			for _, mod := range modules {
				if d.Path == mod.path {
					m.Modules[mod.short] = d.Version
				}
			}
		}
	}
	return m
}

// modules are the libraries whose versions a run names.
var modules = []struct{ short, path string }{
	{"nats-server", "github.com/nats-io/nats-server/v2"},
	{"nats.go", "github.com/nats-io/nats.go"},
	{"pebble", "github.com/cockroachdb/pebble/v2"},
}

func (m Machine) String() string {
	mods := make([]string, 0, len(m.Modules))
	for _, mod := range modules {
		if v := m.Modules[mod.short]; v != "" {
			mods = append(mods, mod.short+" "+v)
		}
	}
	return fmt.Sprintf("%s; %d CPUs (%s), GOMAXPROCS %d, %.1f GiB RAM, Linux %s, %s, %s; temp dir %s on %s",
		m.Date, m.NumCPU, m.CPU, m.GOMAXPROCS, float64(m.MemTotal)/(1<<30), m.Kernel, m.Go,
		strings.Join(mods, ", "), m.TempDir, m.TempFS)
}

// firstField returns the value of the first "key: value" line of a /proc
// file.
func firstField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// memory is a process's resident set now (VmRSS) and at its peak (VmHWM).
type memory struct{ rss, hwm int64 }

// readMemory reads /proc/<pid>/status ("self" for this process).
func readMemory(pid string) (memory, error) {
	path := "/proc/" + pid + "/status"
	var m memory
	for _, f := range []struct {
		key string
		dst *int64
	}{{"VmRSS", &m.rss}, {"VmHWM", &m.hwm}} {
		v := strings.Fields(firstField(path, f.key))
		if len(v) == 0 {
			return m, fmt.Errorf("no %s in %s", f.key, path)
		}
		kb, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("%s in %s: %w", f.key, path, err)
		}
		*f.dst = kb << 10
	}
	return m, nil
}

// A Probe is how many cores this process obtained while it kept every
// one of GOMAXPROCS busy for a moment: below GOMAXPROCS, other work on
// the machine took the rest, and the figures measured around it suffer.
type Probe struct {
	When  string  `json:"when"`
	Cores float64 `json:"cores"`
}

// probeCPU spins GOMAXPROCS goroutines for d and returns the cores they
// obtained (CPU time over wall time).
func probeCPU(when string, d time.Duration) Probe {
	cpu0, start := cpuTime(), time.Now()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			buf := make([]byte, 1024)
			for time.Since(start) < d {
				for range 16 {
					s := sha256.Sum256(buf)
					buf[0] = s[0]
				}
			}
		})
	}
	wg.Wait()
	return Probe{When: when, Cores: (cpuTime() - cpu0).Seconds() / time.Since(start).Seconds()}
}
