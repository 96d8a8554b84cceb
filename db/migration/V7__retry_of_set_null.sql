-- Finished jobs are deleted after their retention period; a retry then keeps its own row and loses only the link.
ALTER TABLE jobs DROP CONSTRAINT jobs_retry_of_fkey;
ALTER TABLE jobs ADD CONSTRAINT jobs_retry_of_fkey FOREIGN KEY (retry_of) REFERENCES jobs (id) ON DELETE SET NULL;
