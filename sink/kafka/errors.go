package kafka

import (
	"errors"
	"fmt"
	"strings"

	"github.com/IBM/sarama"
)

// ErrFenced is wrapped by the error of an exactly-once sink whose
// transactional id was taken over by a newer producer: another instance of
// the same query (a second driver, or this query restarted elsewhere)
// initialised the id and fenced this one. A fenced sink fails every later
// AddBatch; stop it. It never writes again, so it cannot duplicate rows.
var ErrFenced = errors.New("kafka sink: fenced: a newer producer took over the transactional id")

func isFenced(err error) bool {
	return errors.Is(err, sarama.ErrProducerFenced) || errors.Is(err, sarama.ErrInvalidProducerEpoch)
}

// explain wraps err, an error from sarama or the brokers, with what it
// means for the sink and what to do. what names the operation, e.g.
// `writing batch 7 to topic "events"`.
func (s *Sink) explain(what string, err error) error {
	var hint string
	switch {
	case isFenced(err):
		return fmt.Errorf("%w: %s: transactional id %q is in use by a newer instance of query %s: %v; stop this instance (two drivers must not run one checkpoint)",
			ErrFenced, what, s.txnID, s.queryID, err)
	case errors.Is(err, sarama.ErrTopicAuthorizationFailed):
		hint = "the sink's principal is not authorized for the topic: grant it WRITE and DESCRIBE on the topic (READ on the marker topic for exactly-once)"
	case errors.Is(err, sarama.ErrTransactionalIDAuthorizationFailed):
		hint = fmt.Sprintf("the sink's principal may not use transactional id %q: grant it WRITE and DESCRIBE on that transactional id (or a prefixed ACL on %q)", s.txnID, s.cfg.txnPrefix)
	case errors.Is(err, sarama.ErrGroupAuthorizationFailed):
		hint = fmt.Sprintf("the sink's principal may not commit offsets of group %q, which holds the exactly-once marker: grant it READ on the group", s.group)
	case errors.Is(err, sarama.ErrClusterAuthorizationFailed):
		hint = "the sink's principal lacks a cluster permission: grant IDEMPOTENT_WRITE on the cluster (older brokers require it for idempotent producers)"
	case errors.Is(err, sarama.ErrSASLAuthenticationFailed):
		hint = "the brokers rejected the SASL credentials: check Net.SASL in WithSaramaConfig"
	case errors.Is(err, sarama.ErrUnknownTopicOrPartition):
		hint = "the topic or partition does not exist and the brokers did not create it (auto.create.topics.enable is off, or the partition number is too high): create the topic first"
	case errors.Is(err, sarama.ErrMessageSizeTooLarge):
		hint = "a record is larger than the brokers accept (message.max.bytes / max.message.bytes): make values smaller, or raise the limit and Producer.MaxMessageBytes"
	case errors.Is(err, sarama.ErrOutOfBrokers):
		hint = fmt.Sprintf("no broker of %s answers: check WithBrokers (kafka.bootstrap.servers), that the brokers are up, and TLS/SASL settings", strings.Join(s.cfg.brokers, ","))
	}
	if hint != "" {
		return fmt.Errorf("kafka sink: %s: %w; %s", what, err, hint)
	}
	return fmt.Errorf("kafka sink: %s: %w", what, err)
}
