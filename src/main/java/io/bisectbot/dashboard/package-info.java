/**
 * The dashboard: pages for the queue, jobs and step logs, served by every instance. The pages are static HTML with
 * one hand-written script that reads the same JSON API scripts use; a browser logs in with a role's token and then
 * holds a signed, expiring session cookie that any instance accepts (see docs/dashboard.md).
 */
package io.bisectbot.dashboard;
