/** The CPH API's shapes as the clients return them: plain data the steps above build on. */

/** A cloud phone server as ListCloudPhoneServers shows it. */
export interface FleetServer {
  id: string;
  name: string;
  /** ListCloudPhoneServers `status`: only 5 (running) can take a push. */
  status: number;
  /** The flavor: matched against a phone model's `phone_model_name`. */
  phoneModel: string;
}

/** A phone model (flavor) as ListCloudPhoneModels shows it. */
export interface PhoneModel {
  name: string;
  /** A JSON string whose `max_share_disk_size_g` means shared storage; may be missing or not JSON. */
  extendSpec: string | null;
}

/** One entry of PushShareFiles' (or DeleteShareFiles') `jobs`: a job, or a per-server refusal. */
export interface PushJobEntry {
  server_id: string;
  job_id: string | null;
  error_code: string | null;
  error_msg: string | null;
}

/** The answer of PushShareFiles and DeleteShareFiles. */
export interface PushResult {
  requestId: string;
  jobs: PushJobEntry[];
}

/** A CPH job as ListJobs and ShowJob return it; the text fields may be null. */
export interface Job {
  job_id: string;
  server_id: string | null;
  status: number;
  error_code: string | null;
  error_msg: string | null;
  execute_msg: string | null;
}
