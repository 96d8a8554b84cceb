package io.bisectbot.queue;

/**
 * Why a pending job is not running now: a {@code code} for scripts ({@code not_due}, {@code no_instance},
 * {@code kind_disabled}, {@code docker_unavailable}, {@code tenant_cap}, {@code no_free_slot}, {@code queued}) and a
 * sentence for people.
 */
public record WaitingReason(String code, String message) {}
