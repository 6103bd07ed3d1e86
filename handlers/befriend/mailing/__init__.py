"""Mail: what a mail says (`compose`), the queue that carries requests for mail out of the
visitor's request (`queue`), the worker that decides and sends them (`worker`), and SES
(`ses`)."""
