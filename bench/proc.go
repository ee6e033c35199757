package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of CPU times in /proc (100 on every
// Linux architecture Go supports).
const clockTicks = 100

// MachineCPU is the name under which CPU seconds of the whole machine
// (every process, from /proc/stat) are reported.
const MachineCPU = "machine"

// cpuSampler measures the CPU time that named processes, and the machine as
// a whole, use between two samples. It reads /proc and so only works on
// Linux; elsewhere the numbers are missing, never wrong.
type cpuSampler struct {
	pids   map[string]int
	before map[string]float64
}

func newCPUSampler(pids map[string]int) *cpuSampler {
	s := &cpuSampler{pids: pids}
	s.before = s.sample()
	return s
}

func (s *cpuSampler) sample() map[string]float64 {
	out := map[string]float64{}
	if v, err := machineCPUSeconds(); err == nil {
		out[MachineCPU] = v
	}
	for name, pid := range s.pids {
		if v, err := processCPUSeconds(pid); err == nil {
			out[name] = v
		}
	}
	return out
}

// done returns the CPU seconds used since the sampler was made, and the
// resident set size of each named process now.
func (s *cpuSampler) done() (cpu map[string]float64, rss map[string]int64) {
	after := s.sample()
	cpu = map[string]float64{}
	for name, v := range after {
		if b, ok := s.before[name]; ok {
			cpu[name] = v - b
		}
	}
	rss = map[string]int64{}
	for name, pid := range s.pids {
		if v, err := processRSSKiB(pid); err == nil {
			rss[name] = v
		}
	}
	return cpu, rss
}

// processCPUSeconds is utime+stime of pid (fields 14 and 15 of
// /proc/pid/stat, counted after the parenthesized command name).
func processCPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return (ut + st) / clockTicks, nil
}

// processRSSKiB is VmRSS of pid.
func processRSSKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// machineCPUSeconds is the busy time of all CPUs (user, nice, system, irq,
// softirq, steal) from the first line of /proc/stat.
func machineCPUSeconds() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	total := 0.0
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system (idle iowait) irq softirq steal
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		total += v
	}
	return total / clockTicks, nil
}

// ParseWatch parses "name=pid" (the -watch flag).
func ParseWatch(s string) (name string, pid int, err error) {
	name, p, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return "", 0, fmt.Errorf("%q: want name=pid", s)
	}
	pid, err = strconv.Atoi(p)
	if err != nil || pid <= 0 {
		return "", 0, fmt.Errorf("%q: bad pid", s)
	}
	return name, pid, nil
}
