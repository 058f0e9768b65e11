package kafka

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/sluicehq/sluice/source"
)

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String returns "topic-partition", as Kafka tools print it.
func (tp TopicPartition) String() string {
	return tp.Topic + "-" + strconv.FormatInt(int64(tp.Partition), 10)
}

func lessTP(a, b TopicPartition) bool {
	if a.Topic != b.Topic {
		return a.Topic < b.Topic
	}
	return a.Partition < b.Partition
}

func sortTPs(tps []TopicPartition) {
	sort.Slice(tps, func(i, j int) bool { return lessTP(tps[i], tps[j]) })
}

// Offsets maps partitions to Kafka offsets: in a source offset, the next
// offset to read in each partition.
type Offsets map[TopicPartition]int64

// Partitions returns the partitions of o ordered by topic, then partition.
func (o Offsets) Partitions() []TopicPartition {
	tps := make([]TopicPartition, 0, len(o))
	for tp := range o {
		tps = append(tps, tp)
	}
	sortTPs(tps)
	return tps
}

// JSON returns o in Spark's format, {"topic":{"0":123,"1":456}}, with
// topics sorted by name and partitions by number, on one line: equal
// Offsets give identical bytes.
func (o Offsets) JSON() source.Offset {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	prev := ""
	for _, tp := range o.Partitions() {
		if first || tp.Topic != prev {
			if !first {
				b.WriteString("},")
			}
			name, _ := json.Marshal(tp.Topic) // a string always marshals
			b.Write(name)
			b.WriteString(":{")
			first, prev = false, tp.Topic
		} else {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(strconv.FormatInt(int64(tp.Partition), 10))
		b.WriteString(`":`)
		b.WriteString(strconv.FormatInt(o[tp], 10))
	}
	if !first {
		b.WriteByte('}')
	}
	b.WriteByte('}')
	return b.Bytes()
}

func (o Offsets) clone() Offsets {
	c := make(Offsets, len(o))
	for k, v := range o {
		c[k] = v
	}
	return c
}

// ParseOffsets reads a source offset in Spark's format,
// {"topic":{"0":123}}: the next offset to read per partition. Offsets must
// be >= 0.
func ParseOffsets(off source.Offset) (Offsets, error) {
	o, err := parseOffsetsJSON(off, 0)
	if err != nil {
		return nil, fmt.Errorf("kafka: offset %s is not a Kafka source offset: %w; want {\"topic\":{\"0\":123}}", off, err)
	}
	return o, nil
}

// parseOffsetsJSON parses {"topic":{"0":n}}, accepting numbers >= min.
func parseOffsetsJSON(data []byte, min int64) (Offsets, error) {
	var raw map[string]map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not a JSON object of topics to objects of partitions to numbers (%v)", err)
	}
	if dec.More() {
		return nil, errors.New("text after the JSON object")
	}
	if raw == nil {
		return nil, errors.New("null is not an object of topics")
	}
	o := make(Offsets)
	for topic, parts := range raw {
		if topic == "" {
			return nil, errors.New("a topic name is empty")
		}
		if parts == nil {
			return nil, fmt.Errorf("topic %q maps to null, not to an object of partitions", topic)
		}
		for p, n := range parts {
			pn, err := strconv.ParseInt(p, 10, 32)
			if err != nil || pn < 0 || strconv.FormatInt(pn, 10) != p {
				return nil, fmt.Errorf("topic %q: partition %q is not a partition number", topic, p)
			}
			v, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("topic %q partition %d: %s is not an integer offset", topic, pn, n)
			}
			if v < min {
				return nil, fmt.Errorf("topic %q partition %d: %d is below %d", topic, pn, v, min)
			}
			o[TopicPartition{topic, int32(pn)}] = v
		}
	}
	return o, nil
}

// InitialOffsetsObject is the name of the object, in the source's
// checkpoint folder, that keeps the offsets the first batch starts from.
const InitialOffsetsObject = "initial-offsets"

const initialVersion = "v1"

// encodeInitial returns the content of InitialOffsetsObject: "v1\n", the
// offsets' JSON, "\n".
func encodeInitial(o Offsets) []byte {
	var b bytes.Buffer
	b.WriteString(initialVersion)
	b.WriteByte('\n')
	b.Write(o.JSON())
	b.WriteByte('\n')
	return b.Bytes()
}

// decodeInitial parses InitialOffsetsObject's content; where names the
// object in errors.
func decodeInitial(data []byte, where string) (Offsets, error) {
	line, rest, ok := bytes.Cut(data, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if !ok || len(bytes.TrimSpace(rest)) == 0 {
		return nil, fmt.Errorf("kafka: %s is corrupt: want a version line %q and a line of offsets JSON, got %q; "+
			"delete it only if the query has committed no batch yet, or start a new checkpoint", where, initialVersion, truncate(data))
	}
	if string(line) != initialVersion {
		if len(line) > 1 && line[0] == 'v' {
			if n, err := strconv.Atoi(string(line[1:])); err == nil && n > 1 {
				return nil, fmt.Errorf("kafka: %s was written by a newer Sluice (format %s, this one reads %s): upgrade to read this checkpoint", where, line, initialVersion)
			}
		}
		return nil, fmt.Errorf("kafka: %s is corrupt: the first line is %q, want %q; start a new checkpoint", where, truncate(line), initialVersion)
	}
	o, err := parseOffsetsJSON(bytes.TrimSpace(rest), 0)
	if err != nil {
		return nil, fmt.Errorf("kafka: %s is corrupt: %v; start a new checkpoint", where, err)
	}
	return o, nil
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
